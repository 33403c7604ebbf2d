using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>The client's contract against a real API server, in a fresh namespace.</summary>
public class ClientContractTests
{
    [RealClusterFact]
    public async Task Client_contract_holds_against_a_real_cluster()
    {
        var client = await RealCluster.ConnectAsync();
        await using var _ = client as IAsyncDisposable;
        var ns = await RealCluster.CreateNamespaceAsync(client, "contract");
        var cm = await client.CreateAsync(ResourceType.ConfigMap, ns, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "route" }, ["data"] = new JsonObject { ["weight"] = "0" },
        });
        await client.PatchAsync(ResourceType.ConfigMap, ns, "route", new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
            JsonPatchOperation.Replace("/data/weight", "10"),
        ]));
        var stale = await Assert.ThrowsAsync<KubernetesApiException>(() => client.PatchAsync(ResourceType.ConfigMap, ns, "route", new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
            JsonPatchOperation.Replace("/data/weight", "20"),
        ])));
        Assert.Equal(422, stale.StatusCode);

        // An object read back still carries its resourceVersion: kube-apiserver refuses to create it with a 500
        // (before it looks for a duplicate), so a re-create must strip it; without it the duplicate is AlreadyExists.
        var withVersion = await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(ResourceType.ConfigMap, ns, cm));
        Assert.Equal(500, withVersion.StatusCode);
        Assert.Contains("resourceVersion should not be set on objects to be created", withVersion.Message);
        var clean = cm.DeepClone().AsObject();
        clean["metadata"]!.AsObject().Remove("resourceVersion");
        var dup = await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(ResourceType.ConfigMap, ns, clean));
        Assert.Equal(409, dup.StatusCode);
        Assert.True(dup.IsAlreadyExists);
        Assert.Equal("10", (await client.GetAsync(ResourceType.ConfigMap, ns, "route"))["data"]!["weight"]!.GetValue<string>());
        Assert.True((await client.DiscoverAsync()).Serves("coordination.k8s.io", "leases"));
    }
}
