using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// Where requests land, worked out as the data planes do it rather than from backend names: each backend Service's
/// selector picks the ready pods it matches (the Deployments in the namespace whose pod template labels it matches, as
/// many pods as are ready), a request picks a backend by weight and then one of that backend's endpoints uniformly
/// (Envoy and Linkerd balance per request across a backend's endpoints; ingress-nginx likewise after its canary draw).
/// A backend with no ready endpoint drops out and the others share its weight. So a stable Service whose selector also
/// matches canary pods hands part of the stable share to them, which a name-based reading would never show.
/// </summary>
public sealed class PodShareResolver(EmulatedCluster cluster, string ns)
{
    /// <summary>The ready pods behind a Service (narrowed by subset labels), per Deployment.</summary>
    public IReadOnlyDictionary<string, int> Endpoints(string service, IReadOnlyDictionary<string, string>? subsetLabels = null)
    {
        var result = new Dictionary<string, int>();
        if (cluster.Peek(ResourceType.Service, ns, service)?["spec"]?["selector"] is not JsonObject { Count: > 0 } selector) return result;
        foreach (var deployment in cluster.PeekAll(ResourceType.Deployment, ns))
        {
            var labels = deployment["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
            bool Has(string k, string? v) => labels?[k]?.GetValue<string>() is { } actual && actual == v;
            if (!selector.All(kv => Has(kv.Key, kv.Value?.GetValue<string>()))) continue;
            if (subsetLabels is not null && !subsetLabels.All(kv => Has(kv.Key, kv.Value))) continue;
            var ready = RouteShareReader.ReadyReplicas(deployment);
            if (ready > 0) result[deployment["metadata"]!["name"]!.GetValue<string>()] = ready;
        }
        return result;
    }

    /// <summary>The share of requests each Deployment's pods receive (summing to 1, or empty when no backend has an endpoint).</summary>
    public IReadOnlyDictionary<string, double> SharesByDeployment(IEnumerable<WeightedBackend> backends)
    {
        var resolved = backends.Where(b => b.Weight > 0).Select(b => (b.Weight, Pods: Endpoints(b.Service, b.SubsetLabels)))
            .Where(b => b.Pods.Count > 0).ToList();
        var total = resolved.Sum(b => b.Weight);
        var shares = new Dictionary<string, double>();
        foreach (var (weight, pods) in resolved)
        {
            var podCount = pods.Values.Sum();
            foreach (var (deployment, ready) in pods)
                shares[deployment] = shares.GetValueOrDefault(deployment) + weight / total * ready / podCount;
        }
        return shares;
    }
}
