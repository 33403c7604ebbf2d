namespace Kubestead.Rollouts;

/// <summary>How the service runs: its clock, who it reports to, who it says it is, and where metric windows come from.</summary>
public sealed record KubesteadServiceOptions
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public IRolloutObserver Observer { get; init; } = NullRolloutObserver.Instance;
    public DriverIdentity Driver { get; init; } = DriverIdentity.Current();
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How often a waiting driver re-reads state (pause/abort from others) and checks for drift.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Overrides where metric windows come from (the sandbox's simulator); null reads Prometheus.</summary>
    public MetricQueryFactory? Metrics { get; init; }
}
