using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// Everything a rollout's spec makes Kubestead touch in the cluster: the mesh APIs it needs served, the objects it
/// creates when absent, and the kinds of objects it may own. The preflight checks it before the first write; abort and
/// the start undo use the owned kinds to find what the rollout created by its ownership marks, not by assumed names.
/// Versions here must match the routers <see cref="RuntimeFactory"/> builds.
/// </summary>
public sealed record RolloutFootprint(
    IReadOnlyList<RolloutFootprint.MeshApi> MeshApis,
    IReadOnlyList<RolloutFootprint.CreatedObject> Creates,
    IReadOnlyList<ResourceType> OwnedKinds)
{
    /// <summary>A custom resource the mesh needs, the spec field that chooses its version, and the versions Kubestead can drive.</summary>
    public sealed record MeshApi(ResourceType Type, string SpecField, IReadOnlyList<string> SupportedVersions, string? VersionPrefix);

    /// <summary>An object Kubestead creates when it is absent; <see cref="AdoptsForeign"/>: an existing one not made by Kubestead is used as is.</summary>
    public sealed record CreatedObject(ObjectReference Ref, string SpecField, bool AdoptsForeign);

    public static readonly string[] SmiVersions = ["v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"];

    public static RolloutFootprint For(RolloutSpec spec)
    {
        var ns = spec.Namespace;
        var apis = new List<MeshApi>();
        var creates = new List<CreatedObject>();
        var owned = new List<ResourceType> { ResourceType.Deployment };
        if (spec.Canary.Deployment is null)
            creates.Add(new CreatedObject(new ObjectReference(ResourceType.Deployment, ns, $"{spec.StableDeployment}-canary"), "spec.canary.image", AdoptsForeign: false));
        if (spec.CreateBaseline && spec.BaselineDeployment is { } baseline)
            creates.Add(new CreatedObject(new ObjectReference(ResourceType.Deployment, ns, baseline), "spec.baseline.create", AdoptsForeign: false));
        switch (spec.MeshProvider)
        {
            case MeshProviders.Istio:
            {
                var vs = new ResourceType("networking.istio.io", "v1", "virtualservices", "VirtualService");
                apis.Add(new MeshApi(vs, "spec.istio.virtualService", ["v1"], null));
                if (spec.Istio!.DestinationRule is not null)
                    apis.Add(new MeshApi(vs with { Plural = "destinationrules", Kind = "DestinationRule" }, "spec.istio.destinationRule", ["v1"], null));
                owned.Add(vs);
                break;
            }
            case MeshProviders.Linkerd:
            {
                var l = spec.Linkerd!;
                var version = l.ApiGroup == "policy.linkerd.io" ? "v1beta3" : "v1";
                var route = new ResourceType(l.ApiGroup, version, "httproutes", "HTTPRoute");
                apis.Add(new MeshApi(route, "spec.linkerd.apiGroup", [version], null));
                creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, l.CanaryService), "spec.linkerd.canaryService", AdoptsForeign: true));
                creates.Add(new CreatedObject(new ObjectReference(route, ns, l.HttpRoute ?? $"{spec.Service}-kubestead"), "spec.linkerd.httpRoute", AdoptsForeign: true));
                if (spec.CreateBaseline)
                    creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, RuntimeFactory.BaselineServiceName(spec)), "spec.baseline.create", AdoptsForeign: false));
                owned.AddRange([ResourceType.Service, route]);
                break;
            }
            case MeshProviders.Smi:
            {
                var s = spec.Smi!;
                var split = new ResourceType("split.smi-spec.io", s.ApiVersion?.Split('/')[1] ?? "v1alpha2", "trafficsplits", "TrafficSplit");
                apis.Add(new MeshApi(split, "spec.smi.apiVersion", SmiVersions, "split.smi-spec.io/"));
                creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, s.CanaryService), "spec.smi.canaryService", AdoptsForeign: true));
                creates.Add(new CreatedObject(new ObjectReference(split, ns, s.TrafficSplit ?? spec.Service), "spec.smi.trafficSplit", AdoptsForeign: true));
                if (spec.CreateBaseline)
                    creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, RuntimeFactory.BaselineServiceName(spec)), "spec.baseline.create", AdoptsForeign: false));
                owned.AddRange([ResourceType.Service, split]);
                break;
            }
            case MeshProviders.Nginx:
            {
                // Ingress is core Kubernetes (networking.k8s.io/v1 since 1.19): listed so discovery and RBAC are checked like a mesh API.
                var n = spec.Nginx!;
                apis.Add(new MeshApi(ResourceType.Ingress, "spec.nginx.ingress", ["v1"], null));
                creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, n.CanaryService), "spec.nginx.canaryService", AdoptsForeign: true));
                creates.Add(new CreatedObject(new ObjectReference(ResourceType.Ingress, ns, n.CanaryIngress ?? $"{n.Ingress}-canary"), "spec.nginx.canaryIngress", AdoptsForeign: false));
                owned.AddRange([ResourceType.Service, ResourceType.Ingress]);
                break;
            }
            case MeshProviders.Linkerd1:
                // The dtab lives in namerd, not in the cluster: only the canary Service is a Kubernetes object.
                creates.Add(new CreatedObject(new ObjectReference(ResourceType.Service, ns, spec.Linkerd1!.CanaryService), "spec.linkerd1.canaryService", AdoptsForeign: true));
                owned.Add(ResourceType.Service);
                break;
        }
        return new RolloutFootprint(apis, creates, owned);
    }
}
