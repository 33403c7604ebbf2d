using System.Globalization;
using Kubestead.Analysis;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts;

/// <summary>What needs no cluster: spec validation, the split planner, ad hoc judging of counts.</summary>
public sealed class KubesteadOffline : IKubesteadOffline
{
    public SpecTestReport ValidateSpec(string yaml, string? fileName)
    {
        var result = RolloutSpecParser.Parse(yaml, fileName);
        var checks = result.IsValid
            ? [new SpecCheck("spec", CheckOutcome.Passed, $"{fileName ?? "the spec"} is a valid {result.Spec!.MeshProvider} rollout with {result.Spec.Steps.Count} steps{AnalysisSettings(result.Spec.Analysis)}")]
            : result.Problems.Select(p => new SpecCheck("spec", CheckOutcome.Failed, p.ToString(), p.File)).ToList();
        return new SpecTestReport(result.Spec?.Name, result.Spec?.Namespace, result.IsValid, checks);
    }

    /// <summary>The analysis settings a reader checks first: the window, and how much of the control's history is learned before it.</summary>
    private static string AnalysisSettings(AnalysisSpec? analysis) => analysis switch
    {
        null => "",
        { Lookback.Ticks: 0 } a => $"; analysis windows of {SpecDuration.Format(a.Interval)}, no history read (spec.analysis.lookback 0s)",
        { } a => $"; analysis windows of {SpecDuration.Format(a.Interval)}, the judges first learn from the control's last {SpecDuration.Format(a.Lookback)} (spec.analysis.lookback)",
    };

    public SplitPlanResult PlanSplit(SplitPlanRequest r, CancellationToken ct = default)
    {
        if (r.CanaryWeight is < 0 or > 100 || double.IsNaN(r.CanaryWeight))
            throw new KubesteadException("WeightOutOfRange", KubesteadErrorKind.InvalidInput, $"weight {r.CanaryWeight} is out of range 0..100");
        if (r.RequestsPerSecond < 0 || r.Window <= TimeSpan.Zero)
            throw new KubesteadException("InvalidPlanInput", KubesteadErrorKind.InvalidInput, "the request rate must be >= 0 and the window > 0");
        if (r.Baseline && !RolloutSpecParser.BaselineMeshes.Contains(r.MeshProvider))
            throw new KubesteadException("BaselineNotSupported", KubesteadErrorKind.InvalidInput,
                $"meshProvider {r.MeshProvider} cannot give a created baseline its own share (baseline: {{create: true}} works with {string.Join(", ", RolloutSpecParser.BaselineMeshes)})");
        if (r.Baseline && r.CanaryWeight > 50)
            throw new KubesteadException("WeightOutOfRange", KubesteadErrorKind.InvalidInput,
                $"weight {r.CanaryWeight.ToString(CultureInfo.InvariantCulture)} is more than 50: with a created baseline the baseline takes the canary's share too");
        if (r.PodVariance is { } v && (!(v >= 0) || v > PodPersistence.MaxVariance))
            throw new KubesteadException("PodVarianceOutOfRange", KubesteadErrorKind.InvalidInput,
                $"pod variance {v.ToString(CultureInfo.InvariantCulture)} (--pod-variance / -PodVariance) is out of range 0..{PodPersistence.MaxVariance.ToString(CultureInfo.InvariantCulture)}: the judges cap φ² at a pod-to-pod CV of 1");
        if (r.CanaryReplicas is < 1)
            throw new KubesteadException("CanaryReplicasOutOfRange", KubesteadErrorKind.InvalidInput,
                $"the canary replica count (--canary-replicas / -CanaryReplicas) is {r.CanaryReplicas}: it must be at least 1");
        if (r.PodVariance is not null && r.StableReplicas is null)
            throw new KubesteadException("StableReplicasRequired", KubesteadErrorKind.InvalidInput,
                "with a pod variance the plan needs the stable replica count (--stable-replicas / -StableReplicas): the pods' band depends on how many pods each side averages over");
        double achievable = r.CanaryWeight, minimum;
        int? canaryPods = null;
        string explanation;
        var warnings = new List<string>();
        switch (r.MeshProvider)
        {
            case MeshProviders.None:
            {
                var replicas = r.StableReplicas ?? throw new KubesteadException("StableReplicasRequired", KubesteadErrorKind.InvalidInput,
                    "without a mesh the plan needs the stable replica count (--stable-replicas / -StableReplicas)");
                if (replicas < 1)
                    throw new KubesteadException("StableReplicasOutOfRange", KubesteadErrorKind.InvalidInput,
                        $"the stable replica count is {replicas}: it must be at least 1 (a canary's share of ready pods needs stable pods)");
                minimum = ReplicaRatioPlanner.MinimumPercent(replicas, CapacityMode.KeepStable, r.Baseline);
                explanation = $"without a mesh the canary's share is its share of ready pods: with {replicas} stable replicas{(r.Baseline ? " and a baseline sized like the canary" : "")} the smallest share is about {minimum:0.#}%";
                try
                {
                    var replicaPlan = ReplicaRatioPlanner.Plan(r.CanaryWeight, replicas, CapacityMode.KeepStable, r.Baseline);
                    achievable = replicaPlan.CanaryPercent;
                    canaryPods = replicaPlan.CanaryReplicas;
                }
                catch (TrafficRoutingException e)
                {
                    warnings.Add(e.Message);
                    achievable = minimum;
                }
                break;
            }
            case MeshProviders.Istio:
                minimum = 1;
                achievable = Math.Round(r.CanaryWeight);
                explanation = "Istio route weights are whole percents";
                break;
            case MeshProviders.Nginx:
                minimum = 1;
                achievable = Math.Round(r.CanaryWeight);
                explanation = "ingress-nginx's canary-weight is an integer out of canary-weight-total (default 100): whole percents; raise spec.nginx.weightTotal for finer shares";
                break;
            case MeshProviders.Linkerd1:
                minimum = 0.01;
                achievable = Math.Round(r.CanaryWeight, 2);
                explanation = "namerd dentry weights are relative integers (5% is '95 * stable & 5 * canary', 0.5% is '995 & 5'): shares down to 0.01%";
                break;
            default:
                minimum = 0.01;
                achievable = Math.Round(r.CanaryWeight, 2);
                explanation = "HTTPRoute and TrafficSplit weights are relative integers: shares down to 0.01%";
                break;
        }
        // A share this far from the request changes what the step tests: say so rather than plan silently at another weight.
        if (r.CanaryWeight > 0 && Math.Abs(achievable - r.CanaryWeight) > Math.Max(0.25 * r.CanaryWeight, 0.005))
            warnings.Add($"weight {r.CanaryWeight.ToString("0.###", CultureInfo.InvariantCulture)}% cannot be set exactly here: the closest share is {achievable.ToString("0.###", CultureInfo.InvariantCulture)}% ({explanation})");
        var routing = r.Routing switch
        {
            CanaryRoutingMode.WeightedRoundRobin => PlannedRouting.WeightedRoundRobin,
            CanaryRoutingMode.Pods => PlannedRouting.Pods,
            _ => PlannedRouting.Binomial,
        };
        // The Pass band D' for pods that differ persistently: the canary's pods against the control's (a created baseline is
        // sized like the canary). The judge reads φ² at an upper bound of what it learned, which an undecided verdict names:
        // given that bound the band is the judge's, given the learned value it is the least D' will be.
        double? passBand = null;
        if (r.PodVariance is { } variance)
        {
            var k = Math.Max(1, canaryPods ?? r.CanaryReplicas ?? 1);
            var kControl = r.Baseline ? k : r.StableReplicas!.Value;
            passBand = PodPersistence.PassAllowanceFor(variance, k, kControl);
            explanation += $"; the pods' Pass band is at least {passBand.Value.ToString("0.##", CultureInfo.InvariantCulture)} (φ² {variance.ToString("0.###", CultureInfo.InvariantCulture)}, {k} canary and {kControl} {(r.Baseline ? "baseline" : "stable")} pods)";
        }
        // With a created baseline the judges compare the canary with the baseline, which has the same share: the test sees
        // the traffic of both (2w) and, under H0, half of its failures on the canary.
        var (testedRps, testedShare) = r.Baseline && achievable > 0 ? (r.RequestsPerSecond * 2 * achievable / 100, 0.5) : (r.RequestsPerSecond, achievable / 100);
        var plan = CanarySamplePlanner.Plan(testedRps, testedShare, r.Window, routing, r.BaselineErrorRate, r.DetectRatio,
            passPodAllowance: passBand ?? 1, cancellationToken: ct);
        warnings.AddRange(plan.Warnings);
        if (r.Baseline) explanation += $"; the created baseline gets the canary's share ({achievable:0.##}%) and stable the rest ({100 - 2 * achievable:0.##}%), and the judges compare canary with baseline";
        return new SplitPlanResult(r.CanaryWeight, achievable, minimum, explanation, plan.ExpectedCanaryRequestsPerWindow, plan.EmptyWindowProbability,
            plan.TimeToDetect, plan.CanaryRequestsToPass, warnings, r.Baseline ? achievable : null)
        {
            MinimumWindowsForPass = plan.WindowsToPass,
            MinimumTimeForPass = plan.TimeToPassFloor,
            PassPodBand = passBand,
        };
    }

    public AnalysisReport AnalyzeCounts(VersionSample canary, VersionSample control, string judge = "sequential")
    {
        if (canary.Requests < 0 || control.Requests < 0 || canary.Failures < 0 || control.Failures < 0
            || canary.Failures > canary.Requests || control.Failures > control.Requests)
            throw new KubesteadException("InvalidCounts", KubesteadErrorKind.InvalidInput, "counts must be >= 0 and failures no more than requests");
        // Totals given by hand have no windows to bet on: the sequential judge reads them per request (valid when the
        // failures were independent, which is all aggregate counts can say).
        var j = judge == "sequential"
            ? new SequentialErrorRateJudge("error-rate", new SequentialJudgeOptions(Unit: EvidenceUnit.Request))
            : JudgeFactory.Create("error-rate", new JudgeSpec(judge, 0.05, 5, 1, 0.98, judge == "threshold" ? 99 : null, null, null));
        j.Observe(new MetricWindow(default, default, canary, control));
        return new AnalysisReport(null, null, DateTimeOffset.UtcNow, [j.Evaluate()]);
    }
}
