using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>Deterministic ticks for driving a policy by hand: fixed counts, no randomness.</summary>
internal static class SyntheticTicks
{
    /// <summary>A tick whose canary gets exactly its share of a window's failures (evidence for Pass, none for Fail).</summary>
    public static Tick Good(double t, double weight = 0.25) => Make(t, weight, 1, 3);

    /// <summary>A tick where the canary fails about ten times as often as stable.</summary>
    public static Tick Bad(double t, double weight = 0.25) => Make(t, weight, 10, 3);

    public static Tick Make(double t, double weight, int canaryFailures, int stableFailures) =>
        new(t, 50, canaryFailures, 150, stableFailures, Latencies(50), Latencies(150), weight);

    // Every request in the (25, 50] ms bucket: a p99 far below any threshold.
    private static long[] Latencies(int requests)
    {
        var buckets = new long[TrafficModel.Bounds.Length];
        buckets[Array.IndexOf(TrafficModel.Bounds, 50.0)] = requests;
        return buckets;
    }

    /// <summary>Drives a policy with ticks of <paramref name="tickSeconds"/> until it decides or the ticks run out.</summary>
    public static (Decision? Decision, double Time) Drive(IPolicy policy, int ticks, int tickSeconds, Func<double, double, Tick> tick)
    {
        for (var k = 0; k < ticks; k++)
        {
            var t = (double)k * tickSeconds;
            if (policy.OnTick(tick(t, policy.Weight ?? 0.25)) is { } d) return (d, t + tickSeconds);
        }
        return (null, ticks * tickSeconds);
    }
}
