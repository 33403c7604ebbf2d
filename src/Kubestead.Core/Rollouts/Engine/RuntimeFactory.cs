using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Rollouts.Canary;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Engine;

/// <summary>Builds the router, workloads and analysis for a spec: the one place that maps the spec onto Core's parts.</summary>
public sealed class RuntimeFactory(IKubernetesApi api, TimeProvider clock, MetricQueryFactory metrics, HttpClient? namerdHttp = null)
{
    private static readonly HttpClient SharedNamerdHttp = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Where the rollout's metrics get their windows (a drive also reads their scrape interval through it).</summary>
    public MetricQueryFactory Metrics => metrics;

    /// <summary>The same factory over another API (a dry run's write recorder).</summary>
    public RuntimeFactory WithApi(IKubernetesApi other) => new(other, clock, metrics, namerdHttp);

    /// <summary>The same metric sources and namerd client over another API view and clock (a drive's: Lease-checked writes, renewing waits).</summary>
    public RuntimeFactory For(IKubernetesApi driveApi, TimeProvider driveClock) => new(driveApi, driveClock, metrics, namerdHttp);

    public RolloutRuntime Create(RolloutSpec spec)
    {
        var readyTimeout = spec.None?.ReadyTimeout ?? spec.ProgressDeadline;
        var canary = new CanarySource(spec.Canary.Deployment, spec.Canary.Image, spec.Canary.Container)
        {
            TemplatePatch = spec.Canary.TemplatePatch is { } patch ? JsonNode.Parse(patch)!.AsObject() : null,
            Manifest = spec.Canary.Manifest is { } manifest ? JsonNode.Parse(manifest)!.AsObject() : null,
        };
        var workload = new CanaryWorkload(api, clock, spec.Namespace, spec.Name, spec.StableDeployment, canary, spec.VersionLabel, readyTimeout,
            spec.CreateBaseline ? spec.BaselineDeployment : null);
        var router = CreateRouter(spec, workload);
        AnalysisRunner? analysis = null;
        if (spec.Analysis is { } a)
        {
            var plan = ToAnalysisPlan(a);
            // Without a background test each analysis step's judges may fail the canary afresh: the budget is split over them.
            var gate = Kubestead.LoadTests.LoadTestMetrics.Of(a);
            var judges = JudgeFactory.CreateGate(gate, AnalysisStepCount(spec), plan.Background);
            // The background test is a second judge of the same kind and alpha, fed from the first counted window on, whose
            // Fail test is a mixture of e-processes restarted every 30 s (issue #12: late faults are caught fast), its prior
            // spread over the planned rollout (issue #29): the spec is kept in the state, so a resumed driver has the same prior.
            var background = plan.Background ? JudgeFactory.CreateBackground(gate, RestartMixtureOptions.ForPlannedLength(PlannedLength(spec))) : null;
            var bindings = gate.Select((m, i) => new MetricBinding(m.Name, judges[i], metrics(spec, m), m.Judge)
            {
                Background = m.Judge.Kind == "sequential" ? background?[i] : null,
            }).ToList();
            analysis = new AnalysisRunner(plan, bindings);
        }
        return new RolloutRuntime(ToPlan(spec), spec.MeshProvider, router, workload, analysis);
    }

    public static RolloutPlan ToPlan(RolloutSpec spec)
    {
        var steps = spec.Steps.Select<StepSpec, PlanStep>(s => s switch
        {
            SetWeightStepSpec w => new SetWeightPlanStep(w.Weight),
            PauseStepSpec p => new PausePlanStep(p.Duration),
            AnalysisStepSpec a => new AnalysisPlanStep(a.Duration, a.UntilVerdict, a.InitialDelay),
            SetHeaderRouteStepSpec h => new SetHeaderRoutePlanStep(new HeaderRouteRequest(h.Name, h.HeaderName, h.HeaderValue,
                h.MatchType switch { "prefix" => HeaderMatchType.Prefix, "regex" => HeaderMatchType.Regex, _ => HeaderMatchType.Exact },
                h.Cookie is { } c ? new CookieMatch(c.Name, c.Value, c.IsRegex) : null)),
            RemoveHeaderRouteStepSpec r => new RemoveHeaderRoutePlanStep(r.Name),
            ApprovalStepSpec g => new ApprovalPlanStep(g.Timeout, g.AbortOnTimeout),
            _ => throw new ArgumentException($"unknown step {s.GetType().Name}"),
        }).ToList();
        var analysis = spec.Analysis is { } a ? ToAnalysisPlan(a) : null;
        var p = spec.Policies;
        var policies = new RolloutPolicies(
            p.OnDrift == "reassert" ? DriftPolicy.Reassert : DriftPolicy.Pause,
            p.OnInsufficientData == "fail" ? InconclusivePolicy.Fail : InconclusivePolicy.Pause,
            p.OnMetricErrors == "fail" ? InconclusivePolicy.Fail : InconclusivePolicy.Pause,
            p.Promotion == "weightOnly" ? PromotionMode.WeightOnly : PromotionMode.Full,
            spec.None?.ReadyTimeout ?? spec.ProgressDeadline,
            spec.ScaleDownDelay,
            p.HoldWeightWhilePaused) { StatusInterval = spec.StatusInterval };
        return new RolloutPlan(spec.Name, spec.Namespace, steps, analysis, policies) { Webhooks = spec.Webhooks };
    }

    /// <summary>The analysis steps whose judges run (from <c>spec.analysis.startingStep</c> on); at least 1.</summary>
    public static int AnalysisStepCount(RolloutSpec spec) =>
        Math.Max(1, spec.Steps.Skip(spec.Analysis?.StartingStep ?? 0).Count(s => s is AnalysisStepSpec));

    /// <summary>The rollout's planned length: its timed pauses and analysis steps (untimed ones add nothing).</summary>
    public static TimeSpan PlannedLength(RolloutSpec spec) => spec.Steps.Aggregate(TimeSpan.Zero, (sum, s) => sum + s switch
    {
        PauseStepSpec { Duration: { } d } => d,
        AnalysisStepSpec { Duration: { } d } => d,
        _ => TimeSpan.Zero,
    });

    /// <summary>The Service Kubestead creates for a created baseline on meshes that route by Service: &lt;service&gt;-baseline.</summary>
    public static string BaselineServiceName(RolloutSpec spec) => $"{spec.Service}-baseline";

    /// <summary>What tells the created baseline's pods apart from stable's: the version label with the value "baseline".</summary>
    public static IReadOnlyDictionary<string, string> BaselineLabels(RolloutSpec spec) => new Dictionary<string, string> { [spec.VersionLabel] = "baseline" };
    private static AnalysisPlan ToAnalysisPlan(AnalysisSpec a) => new(a.Interval, a.StartingStep, a.ConsecutiveErrorLimit, a.InconclusiveWindowLimit)
    {
        Warmup = a.Warmup,
        WarmupAfterWeightChange = a.WarmupAfterWeightChange,
        Lookback = a.Lookback,
        // Fixed-sample judges never run in the background (the parser rejects asking for it): only sequential metrics do.
        Background = a.Background && a.Metrics.Any(m => m.Judge.Kind == "sequential"),
    };

    private ITrafficRouter CreateRouter(RolloutSpec spec, CanaryWorkload workload)
    {
        var canaryLabels = new Dictionary<string, string> { [spec.VersionLabel] = "canary" };
        switch (spec.MeshProvider)
        {
            case MeshProviders.Istio:
            {
                var i = spec.Istio!;
                return new IstioRouter(api, new IstioRouterOptions(spec.Namespace, spec.Name, i.VirtualService, spec.Service, i.Route,
                    i.DestinationRule, i.StableSubset, i.CanarySubset, i.StableHost, i.CanaryHost,
                    StableDeployment: spec.StableDeployment,
                    CanaryPodLabels: workload.CreatesCanary ? canaryLabels : null,
                    BaselinePodLabels: spec.CreateBaseline ? BaselineLabels(spec) : null));
            }
            case MeshProviders.Linkerd:
            {
                var l = spec.Linkerd!;
                return new GatewayApiRouter(api, new GatewayApiRouterOptions(spec.Namespace, spec.Name, spec.Service, l.CanaryService, canaryLabels,
                    l.HttpRoute, l.ApiGroup, l.ApiGroup == "policy.linkerd.io" ? "v1beta3" : "v1", l.StableService,
                    spec.CreateBaseline ? BaselineServiceName(spec) : null, BaselineLabels(spec)) { StableDeployment = spec.StableDeployment });
            }
            case MeshProviders.Smi:
            {
                var s = spec.Smi!;
                return new SmiRouter(api, new SmiRouterOptions(spec.Namespace, spec.Name, spec.Service, s.CanaryService, canaryLabels, s.TrafficSplit,
                    s.ApiVersion?.Split('/')[1] ?? "v1alpha2", spec.CreateBaseline ? BaselineServiceName(spec) : null, BaselineLabels(spec))
                    { StableDeployment = spec.StableDeployment });
            }
            case MeshProviders.Nginx:
            {
                var n = spec.Nginx!;
                return new NginxRouter(api, new NginxRouterOptions(spec.Namespace, spec.Name, spec.Service, n.CanaryService, canaryLabels,
                    n.Ingress, n.CanaryIngress, n.WeightTotal) { StableDeployment = spec.StableDeployment });
            }
            case MeshProviders.Linkerd1:
            {
                var l = spec.Linkerd1!;
                return new Linkerd1Router(api, new Kubestead.Traffic.Dtabs.NamerdClient(namerdHttp ?? SharedNamerdHttp, l.Namerd),
                    new Linkerd1RouterOptions(spec.Namespace, spec.Name, spec.Service, l.CanaryService, canaryLabels, l.Namerd, l.DtabNamespace,
                        l.Prefix, l.StableDestination, l.CanaryDestination) { StableDeployment = spec.StableDeployment });
            }
            default:
                return new ReplicaRatioRouter(api, new ReplicaRatioRouterOptions(spec.Namespace, spec.Name, spec.Service, spec.StableDeployment,
                    workload.CanaryDeployment, spec.None?.Capacity == CapacityPolicy.KeepTotal ? CapacityMode.KeepTotal : CapacityMode.KeepStable,
                    workload.ReadyTimeout, clock)
                {
                    BaselineDeployment = workload.BaselineDeployment,
                    CanaryPodLabels = workload.CreatesCanary ? canaryLabels : null,
                    BaselinePodLabels = spec.CreateBaseline ? BaselineLabels(spec) : null,
                });
        }
    }
}
