using Kubestead.Metrics;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

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
    /// <summary>
    /// How long the writes that end a drive (recording where a cancelled driver stopped, releasing the Lease) may take.
    /// They run on their own token because the caller's is usually the one that was cancelled; short, so a CLI's
    /// grace period (10 s by default) covers them.
    /// </summary>
    public TimeSpan ReleaseTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Overrides where metric windows come from (the sandbox's simulator); null reads Prometheus.</summary>
    public MetricQueryFactory? Metrics { get; init; }
    /// <summary>How namerd is reached for meshProvider linkerd1 (the sandbox's emulated namerd); null: over the network.</summary>
    public HttpMessageHandler? NamerdHandler { get; init; }
    /// <summary>How notifications to the sinks of a rollout's spec are sent (retries, the report link, a test's handler).</summary>
    public Kubestead.Notifications.NotificationOptions Notifications { get; init; } = new();
    /// <summary>How load tests (<c>analysis.loadTest</c>) are sent; null: over HTTP. The sandbox feeds its simulator instead.</summary>
    public Kubestead.LoadTests.ILoadGenerator? LoadGenerator { get; init; }

    /// <summary>
    /// Also record the rollout's events as Kubernetes Events on its stable Deployment (<see cref="Kubestead.Events.KubernetesEventRecorder"/>).
    /// Off by default so embedders and tests that count requests opt in; the CLI, the cmdlets and the controller turn it on.
    /// </summary>
    public bool RecordEvents { get; init; }
}
