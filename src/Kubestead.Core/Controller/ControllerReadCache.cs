using Kubestead.Kubernetes;

namespace Kubestead.Controller;

/// <summary>
/// The watch caches a controller replica gives the engine, so a rollout's per-window reads (its stable and canary
/// Deployments, its state ConfigMap) cost no request: one watch per namespace of Deployments and of the state ConfigMaps
/// handed to controllers. The CLI and the cmdlets drive one rollout and keep reading the server directly.
/// </summary>
public static class ControllerReadCache
{
    public static readonly IReadOnlyList<CachedResource> Resources =
    [
        new(ResourceType.Deployment),
        new(ResourceType.ConfigMap, ControllerHandoff.StateSelector),
    ];

    public static WatchCachedApi Over(IKubernetesApi api, TimeProvider clock, Action<ResourceType, string, Exception>? onWatchBroken = null) =>
        new(api, Resources, clock) { OnWatchBroken = onWatchBroken };
}
