using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.GitOps;

/// <summary>
/// The Argo CD and Flux settings that keep a GitOps tool from reverting the fields Kubestead writes for a rollout:
/// the routing object's weights (its pointers read from the route itself for Istio) and, with full promotion, the
/// stable Deployment's fields.
/// </summary>
public static class GitOpsConfigBuilder
{
    public static async Task<GitOpsConfigResult> BuildAsync(string name, StoredRollout stored, RolloutSpec spec, ITrafficRouter router, CancellationToken ct)
    {
        var deployment = GitOpsDeploymentSettings.Fields(spec, stored.Namespace);
        if (router is IstioRouter istio)
        {
            var (argo, _, pointers) = await istio.GitOpsConfigAsync(ct).ConfigureAwait(false);
            var route = new GitOpsIgnoredFields("networking.istio.io", "VirtualService", spec.Istio!.VirtualService, stored.Namespace, pointers);
            List<GitOpsIgnoredFields> istioObjects = [route];
            if (spec.CreateBaseline && spec.Istio.DestinationRule is { } dr)
                istioObjects.Add(new GitOpsIgnoredFields("networking.istio.io", "DestinationRule", dr, stored.Namespace, ["/spec/subsets"]));
            if (deployment is not null) istioObjects.Add(deployment);
            return new GitOpsConfigResult(name, stored.Namespace, GitOpsDeploymentSettings.AddTo(argo, spec, stored.Namespace),
                GitOpsFluxSettings.Build(istioObjects, spec), pointers);
        }
        if (spec.MeshProvider is MeshProviders.Linkerd1 or MeshProviders.Nginx)
            return GitOpsOutsideGit.Build(name, stored.Namespace, spec, deployment);
        var (kind, group, objName, pointer) = spec.MeshProvider switch
        {
            MeshProviders.Linkerd => ("HTTPRoute", spec.Linkerd!.ApiGroup, spec.Linkerd.HttpRoute ?? $"{spec.Service}-kubestead", "/spec/rules"),
            MeshProviders.Smi => ("TrafficSplit", "split.smi-spec.io", spec.Smi!.TrafficSplit ?? spec.Service, "/spec/backends"),
            _ => ("Deployment", "apps", spec.StableDeployment, "/spec/replicas"),
        };
        var argoCd = $"ignoreDifferences:\n  - group: {group}\n    kind: {kind}\n    name: {objName}\n    namespace: {stored.Namespace}\n    jsonPointers:\n      - {pointer}\nsyncPolicy:\n  syncOptions:\n    - RespectIgnoreDifferences=true";
        var routing = new GitOpsIgnoredFields(group, kind, objName, stored.Namespace, [pointer]);
        IReadOnlyList<GitOpsIgnoredFields> objects = deployment is null ? [routing]
            : kind == "Deployment" ? [deployment] // no mesh: the routing object is the stable Deployment itself
            : [routing, deployment];
        return new GitOpsConfigResult(name, stored.Namespace, GitOpsDeploymentSettings.AddTo(argoCd, spec, stored.Namespace),
            GitOpsFluxSettings.Build(objects, spec), [pointer]);
    }
}
