using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>Skips with a message unless KUBESTEAD_TEST_KUBECONFIG names a kubeconfig of a real cluster.</summary>
public sealed class RealClusterFactAttribute : FactAttribute
{
    public RealClusterFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") is not { Length: > 0 } path || !File.Exists(path))
            Skip = "KUBESTEAD_TEST_KUBECONFIG does not name a kubeconfig: no real cluster to run the integration tests against";
    }
}

/// <summary>The client's contract against a real API server, in a fresh namespace deleted afterwards.</summary>
public class RealClusterTests
{
    [RealClusterFact]
    public async Task Client_contract_holds_against_a_real_cluster()
    {
        var connection = KubeConfigLoader.Resolve(Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG"));
        await using var client = new KubernetesClient(connection);
        var ns = $"kubestead-test-{Guid.NewGuid():N}"[..30];
        await client.CreateAsync(ResourceType.Namespace, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
        try
        {
            var cm = await client.CreateAsync(ResourceType.ConfigMap, ns, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = "route" }, ["data"] = new JsonObject { ["weight"] = "0" },
            });
            var before = client.RequestCount;
            await client.PatchAsync(ResourceType.ConfigMap, ns, "route", new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
                JsonPatchOperation.Replace("/data/weight", "10"),
            ]));
            Assert.Equal(1, client.RequestCount - before);
            var stale = await Assert.ThrowsAsync<KubernetesApiException>(() => client.PatchAsync(ResourceType.ConfigMap, ns, "route", new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
                JsonPatchOperation.Replace("/data/weight", "20"),
            ])));
            Assert.True(stale.IsInvalid || stale.IsConflict);
            var dup = await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(ResourceType.ConfigMap, ns, cm));
            Assert.True(dup.IsAlreadyExists || dup.IsConflict);
            Assert.True((await client.DiscoverAsync()).Serves("coordination.k8s.io", "leases"));
        }
        finally
        {
            await client.DeleteAsync(ResourceType.Namespace, null, ns);
        }
    }
}
