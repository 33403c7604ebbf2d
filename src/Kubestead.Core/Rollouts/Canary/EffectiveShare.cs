using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// The canary's real share without a mesh: its ready pods over all ready pods behind the Service. It differs from the
/// weight Kubestead set when replicas changed under the split (an autoscaler, a person) or pods are not ready yet.
/// </summary>
public sealed record EffectiveShare(double CanaryPercent, int CanaryReadyPods, int StableReadyPods)
{
    /// <summary>The share now, for a mesh-free rollout that is still running; null for a mesh (the route is the share) or when it cannot be read.</summary>
    public static async Task<EffectiveShare?> ReadAsync(RolloutSpec spec, RolloutPhase phase, ITrafficRouter router, CancellationToken ct)
    {
        if (spec.MeshProvider != MeshProviders.None || phase.IsTerminal()) return null;
        try
        {
            var split = await router.GetSplitAsync(ct).ConfigureAwait(false);
            return new EffectiveShare(Math.Round(split.CanaryPercent, 3), (int)split.Backends[1].Weight, (int)split.Backends[0].Weight);
        }
        catch (Exception e) when (e is KubesteadException or Kubernetes.KubernetesApiException && !ct.IsCancellationRequested)
        {
            // Status must answer even when a Deployment is gone or unreadable; the share is then unknown.
            return null;
        }
    }

    public string Describe(double setWeight) =>
        $"canary {CanaryPercent:0.#}% of ready pods ({CanaryReadyPods} canary, {StableReadyPods} stable)" +
        (Math.Abs(CanaryPercent - setWeight) >= 0.5 ? $"; Kubestead set {setWeight:0.#}%" : "");
}
