using Kubestead.Analysis;
using Kubestead.Rollouts.Canary;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Engine;

/// <summary>Everything needed to drive one rollout, built from its stored spec: the plan, the router, the workloads, the analysis.</summary>
public sealed record RolloutRuntime(
    RolloutPlan Plan,
    string MeshProvider,
    ITrafficRouter Router,
    CanaryWorkload Workload,
    AnalysisRunner? Analysis);
