namespace Kubestead.Specs;

/// <summary>A parsed, defaulted rollout spec (<c>apiVersion: kubestead.io/v1alpha1</c>, <c>kind: Rollout</c>).</summary>
public sealed record RolloutSpec(
    string Name,
    string Namespace,
    string Service,
    string MeshProvider,
    IstioSettings? Istio,
    GatewayApiSettings? Linkerd,
    SmiSettings? Smi,
    NoMeshSettings? None,
    string StableDeployment,
    CanarySpec Canary,
    string? BaselineDeployment,
    string VersionLabel,
    IReadOnlyList<StepSpec> Steps,
    AnalysisSpec? Analysis,
    PoliciesSpec Policies)
{
    /// <summary>
    /// <c>baseline: {create: true}</c> (Kayenta style): Kubestead creates <see cref="BaselineDeployment"/> from stable's
    /// template, sizes it like the canary and routes it the canary's share, and the judges compare the canary with it.
    /// </summary>
    public bool CreateBaseline { get; init; }

    /// <summary>The baseline's share for a canary weight: the same as the canary's, as far as 100% allows.</summary>
    public static double BaselineShare(double canaryWeight) => Math.Max(0, Math.Min(canaryWeight, 100 - canaryWeight));

    /// <summary>How long the canary's pods stay after traffic leaves them (promotion or abort) before removal.</summary>
    public TimeSpan ScaleDownDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>ingress-nginx settings when <see cref="MeshProvider"/> is <c>nginx</c>.</summary>
    public NginxSettings? Nginx { get; init; }
    /// <summary>Linkerd 1.x (namerd dtabs); set when <see cref="MeshProvider"/> is <c>linkerd1</c>.</summary>
    public Linkerd1Settings? Linkerd1 { get; init; }
    /// <summary>
    /// At most one state write per this interval for analysis progress alone; phase, step and verdict changes are
    /// written at once. A crash loses at most this much analysis progress (re-read from the metrics), never a decision.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary><c>spec.notifications</c>: the sinks told of this rollout's events (see docs/notifications.md).</summary>
    public IReadOnlyList<Kubestead.Notifications.NotificationSinkSpec> Notifications { get; init; } = [];

    /// <summary>
    /// How long the canary's (and a created baseline's) pods may take to become ready after a step sizes them, with
    /// every mesh. A canary not ready by then cannot become ready (CrashLoopBackOff, ImagePullBackOff): it has failed,
    /// and the rollout is aborted. The default follows a Deployment's own progressDeadlineSeconds (600).
    /// </summary>
    public TimeSpan ProgressDeadline { get; init; } = DefaultProgressDeadline;

    public static readonly TimeSpan DefaultProgressDeadline = TimeSpan.FromMinutes(10);

    /// <summary><c>spec.webhooks</c>: HTTP gates at Flagger's points whose 2xx lets the rollout go on (see docs/gates.md).</summary>
    public IReadOnlyList<Kubestead.Gates.WebhookGateSpec> Webhooks { get; init; } = [];

    /// <summary><c>spec.reportUrl</c>: where the HTML report is published; notifications link it (a host's own report location wins).</summary>
    public string? ReportUrl { get; init; }

    /// <summary>
    /// <c>spec.controller.adopt</c>: a controller may take this rollout over when its own driver (a CI job) dies and its
    /// Lease expires. Off by default: a CI driver whose Lease lapsed may only be restarting (see docs/controller.md).
    /// </summary>
    public bool ControllerAdopt { get; init; }
}

public static class MeshProviders
{
    public const string Istio = "istio";
    public const string Linkerd = "linkerd";
    public const string Smi = "smi";
    public const string None = "none";
    public const string Nginx = "nginx";
    public const string Linkerd1 = "linkerd1";
    public static readonly string[] All = [Istio, Linkerd, Smi, None, Nginx, Linkerd1];
}

/// <summary>Istio: subsets of one host through a DestinationRule, or two hosts (two Services) when <see cref="StableHost"/> is set.</summary>
public sealed record IstioSettings(
    string VirtualService,
    string? Route,
    string? DestinationRule,
    string StableSubset,
    string CanarySubset,
    string? StableHost,
    string? CanaryHost);

/// <summary>
/// Linkerd 2.12+: an HTTPRoute (Gateway API or policy.linkerd.io) with separate stable and canary Services. The route's
/// parent is <c>spec.service</c>; <see cref="StableService"/> is the stable version's backendRef (default: the parent).
/// </summary>
public sealed record GatewayApiSettings(string? HttpRoute, string ApiGroup, string CanaryService, string? StableService = null);

/// <summary>Linkerd 2.4-2.11: SMI TrafficSplit.</summary>
public sealed record SmiSettings(string? TrafficSplit, string? ApiVersion, string CanaryService);

/// <summary>ingress-nginx: a canary Ingress made from the stable Ingress, weights out of <see cref="WeightTotal"/>.</summary>
public sealed record NginxSettings(string Ingress, string? CanaryIngress, string CanaryService, int WeightTotal);

public enum CapacityPolicy { KeepStable, KeepTotal }

/// <summary>No mesh: traffic follows ready pods.</summary>
public sealed record NoMeshSettings(CapacityPolicy Capacity, TimeSpan ReadyTimeout);

/// <summary>
/// Either an existing Deployment, or a copy of stable's pod template that Kubestead changes: a strategic-merge
/// <see cref="TemplatePatch"/> of the template, or the template of a full Deployment <see cref="Manifest"/>, and/or a new
/// image (optionally for one container) on top. Patch and manifest are canonical JSON text, so two specs asking for the
/// same change compare equal (a CI re-run attaches).
/// </summary>
public sealed record CanarySpec(string? Deployment, string? Image, string? Container)
{
    /// <summary><c>spec.canary.templatePatch</c> as JSON: a strategic-merge patch of stable's pod template.</summary>
    public string? TemplatePatch { get; init; }

    /// <summary><c>spec.canary.manifest</c> as JSON: a whole Deployment whose pod template becomes the canary's.</summary>
    public string? Manifest { get; init; }

    /// <summary>True when Kubestead builds the canary from a template (stable's, or the manifest's).</summary>
    public bool ChangesTemplate => Deployment is null;
}

public abstract record StepSpec;
public sealed record SetWeightStepSpec(double Weight) : StepSpec;
public sealed record PauseStepSpec(TimeSpan? Duration) : StepSpec;
/// <param name="InitialDelay">Windows that begin within this time of the step's start are not judged (warm-up).</param>
public sealed record AnalysisStepSpec(TimeSpan? Duration, bool UntilVerdict, TimeSpan InitialDelay = default) : StepSpec;
public sealed record SetHeaderRouteStepSpec(string Name, string HeaderName, string HeaderValue, string MatchType, CookieMatchSpec? Cookie = null) : StepSpec;

/// <summary><c>setHeaderRoute.cookie</c>: the cookie <see cref="Name"/> with exactly <see cref="Value"/>, or matching it as a regex.</summary>
public sealed record CookieMatchSpec(string Name, string Value, bool IsRegex);
public sealed record RemoveHeaderRouteStepSpec(string Name) : StepSpec;

/// <summary><c>approval: {timeout, onTimeout}</c>: pauses until someone approves (who and when are recorded).</summary>
public sealed record ApprovalStepSpec(TimeSpan? Timeout, bool AbortOnTimeout) : StepSpec;

public sealed record AnalysisSpec(
    TimeSpan Interval,
    int StartingStep,
    IReadOnlyList<MetricSpec> Metrics,
    int ConsecutiveErrorLimit,
    int InconclusiveWindowLimit)
{
    /// <summary>Windows that begin within this time after the canary first gets traffic are not judged.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Also warm up after every later weight change.</summary>
    public bool WarmupAfterWeightChange { get; init; }

    /// <summary>
    /// One anytime-valid e-process per sequential metric across the whole rollout, whose Fail aborts at any moment;
    /// steps still need a Pass from their own evidence. Fixed-sample judges never run in the background.
    /// </summary>
    public bool Background { get; init; } = true;

    /// <summary>How often the metrics are scraped (<c>analysis.scrapeInterval</c>): the default interval, and its floor.</summary>
    public TimeSpan? ScrapeInterval { get; init; }

    /// <summary><c>analysis.loadTest</c>: synthetic requests to the canary during analysis steps, judged as their own evidence.</summary>
    public Kubestead.LoadTests.LoadTestSpec? LoadTest { get; init; }

    /// <summary>
    /// <c>analysis.lookback</c>: how much of the control's history (its pods' counts before the rollout) the judges learn
    /// the pods' dispersion from when the analysis begins; zero reads none.
    /// </summary>
    public TimeSpan Lookback { get; init; } = DefaultLookback;

    /// <summary>
    /// Six hours of the control's own pods, one read per rollout: where per-pod counts are small (tens of failures a pod an
    /// hour) an hour leaves the dispersion bound wide; six hours cut the bench's blasts 5-15% there (issue #29, round 9).
    /// </summary>
    public static readonly TimeSpan DefaultLookback = TimeSpan.FromHours(6);

    /// <summary>The longest look-back: a day already holds every daily pattern, and the answer grows with it.</summary>
    public static readonly TimeSpan MaxLookback = TimeSpan.FromHours(24);

    /// <summary>Whether the spec wrote <c>analysis.interval</c> (false: <see cref="Interval"/> is the default, which a scrape interval read from Prometheus replaces).</summary>
    public bool IntervalGiven { get; init; }
}

/// <summary>
/// Where a metric's counts come from: one provider's block (Prometheus, the simulator, ...); each provider's record,
/// reader and query live in its folder under Metrics/.
/// </summary>
public abstract record MetricProviderSpec(string Kind, TimeSpan Timeout)
{
    /// <summary>Whether a credential is read from a Kubernetes Secret (so the driver needs <c>get</c> on secrets).</summary>
    public virtual bool ReadsSecrets => false;

    /// <summary>Whether the source returns latency buckets; a latency judge on one that does not is refused at validation.</summary>
    public virtual bool ReturnsLatency => true;
}

public sealed record JudgeSpec(
    string Kind,
    double Alpha,
    double DetectRatio,
    double AllowedIncrease,
    double Confidence,
    double? MinSuccessRate,
    double? MaxP99Ms,
    double? LatencyThresholdMs)
{
    /// <summary>A threshold judge's canary requests per window below which it says InsufficientData (null: its default).</summary>
    public long? MinRequests { get; init; }

    /// <summary>Whether this judge reads latency histograms (so a provider fetches buckets only then).</summary>
    public bool ReadsLatency => LatencyThresholdMs is not null || (Kind == "threshold" && MaxP99Ms is not null);
}

public sealed record MetricSpec(string Name, MetricProviderSpec Provider, JudgeSpec Judge)
{
    /// <summary>
    /// Which requests this metric counts when the analysis has a load test: the load test's synthetic requests to the
    /// canary (true), or the users' requests without them (false). Without a load test every request is a user's.
    /// </summary>
    public bool LoadTestEvidence { get; init; }
}

public sealed record PoliciesSpec(string OnDrift, string OnInsufficientData, string OnMetricErrors, string Promotion)
{
    /// <summary>Keep the canary's weight during an automatic pause (default: traffic returns to stable until resumed).</summary>
    public bool HoldWeightWhilePaused { get; init; }
}
