using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>Reads the objects a router touches, turning "not found" into an error naming the spec field that named it.</summary>
internal static class ObjectLookup
{
    public static async Task<JsonObject?> TryGetAsync(IKubernetesApi api, ResourceType type, string ns, string name, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(type, ns, name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public static async Task<JsonObject> RequireAsync(IKubernetesApi api, ResourceType type, string ns, string name, string field, CancellationToken ct,
        KubesteadErrorKind kind = KubesteadErrorKind.InvalidInput)
    {
        var r = new ObjectReference(type, ns, name);
        return await TryGetAsync(api, type, ns, name, ct).ConfigureAwait(false)
               ?? throw new TrafficRoutingException("ObjectNotFound", $"{field}: {r} does not exist", r, kind);
    }
}
