using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Specs;

namespace Kubestead.Rollouts;

/// <summary>Writes a starting spec from what the cluster holds: the Service, the Deployment it selects, the mesh in use.</summary>
public static class SpecScaffolder
{
    public static async Task<string> ScaffoldAsync(IKubernetesApi api, string ns, string service, string? meshProvider, CancellationToken ct)
    {
        JsonObject svc;
        try
        {
            svc = await api.GetAsync(ResourceType.Service, ns, service, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new KubesteadException("ServiceNotFound", KubesteadErrorKind.NotFound, $"Service '{service}' does not exist in namespace {ns}",
                new ObjectReference(ResourceType.Service, ns, service).ToString());
        }
        var selector = svc["spec"]?["selector"] as JsonObject ?? new JsonObject();
        var deployments = await api.ListAsync(ResourceType.Deployment, ns, null, ct).ConfigureAwait(false);
        var stable = deployments.Items.FirstOrDefault(d =>
            selector.Count > 0 && selector.All(kv => d["spec"]?["template"]?["metadata"]?["labels"]?[kv.Key]?.GetValue<string>() == kv.Value?.GetValue<string>()));
        var stableName = stable?["metadata"]?["name"]?.GetValue<string>() ?? service;
        var image = stable?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"]?.GetValue<string>() ?? "registry.example.com/app:next";
        var mesh = meshProvider ?? await DetectMeshAsync(api, ct).ConfigureAwait(false);
        return "# Scaffolded by Kubestead from the cluster; change canary.image to the version to roll out.\n"
               + (mesh == MeshProviders.Linkerd1 ? "# spec.linkerd1 is a guess (namerd's address, the dtab namespace, the io.l5d.k8s paths): check it against your namerd and Linkerd config.\n" : "")
               + RolloutSpecDefaults.ForImage(stableName, ns, service, mesh, image);
    }

    /// <summary>Istio when its VirtualService API is served, Linkerd when HTTPRoutes are, SMI when TrafficSplits are, else none.</summary>
    public static async Task<string> DetectMeshAsync(IKubernetesApi api, CancellationToken ct)
    {
        var discovery = await api.DiscoverAsync(ct).ConfigureAwait(false);
        if (discovery.Serves("networking.istio.io", "virtualservices")) return MeshProviders.Istio;
        if (discovery.Serves("policy.linkerd.io", "httproutes") || discovery.Serves("gateway.networking.k8s.io", "httproutes")) return MeshProviders.Linkerd;
        if (discovery.Serves("split.smi-spec.io", "trafficsplits")) return MeshProviders.Smi;
        return MeshProviders.None;
    }
}
