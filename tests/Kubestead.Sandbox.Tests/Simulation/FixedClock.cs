namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>A clock standing still at <paramref name="now"/>: what the sandbox's Prometheus calls "now".</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
