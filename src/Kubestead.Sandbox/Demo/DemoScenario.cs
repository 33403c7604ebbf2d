using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Demo;

/// <summary>The demo's scenarios: what the canary does and how much traffic the service gets.</summary>
public sealed record DemoScenario(string Name, double RequestsPerSecond, VersionBehavior Stable, VersionBehavior Canary, string Expectation)
{
    public static readonly string[] Names = ["healthy", "faulty", "low-traffic"];

    public static DemoScenario Get(string name) => name switch
    {
        "healthy" => new("healthy", 100, new VersionBehavior(0.001), new VersionBehavior(0.001),
            "the canary behaves like stable: it is promoted"),
        "faulty" => new("faulty", 100, new VersionBehavior(0.001), new VersionBehavior(0.05, LatencyMedianMs: 60),
            "the canary fails 5% of requests (50x stable): it is rolled back after a handful of failed requests"),
        "low-traffic" => new("low-traffic", 0.02, new VersionBehavior(0.001), new VersionBehavior(0.001),
            "the service gets about one request a minute: the canary cannot be judged and the rollout pauses with insufficient data"),
        _ => throw new ArgumentException($"unknown scenario '{name}'; use one of: {string.Join(", ", Names)}", nameof(name)),
    };
}
