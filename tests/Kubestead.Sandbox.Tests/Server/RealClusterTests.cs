using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>
/// Runs against the cluster that KUBESTEAD_TEST_KUBECONFIG names (./test.sh starts ../shared/kube-apiserver and sets it).
/// Skips, with a message, only where that variable is unset and ../shared/kube-apiserver is absent (a clone elsewhere);
/// with ../shared present a missing cluster is a failure, never a skip.
/// </summary>
public sealed class RealClusterFactAttribute : FactAttribute
{
    public RealClusterFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") is { Length: > 0 }) return;
        var kit = Path.GetFullPath(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "..", "shared", "kube-apiserver", "start"));
        if (!File.Exists(kit))
            Skip = "no real cluster: KUBESTEAD_TEST_KUBECONFIG is unset and ../shared/kube-apiserver is absent (run ./test.sh beside ../shared)";
    }
}

/// <summary>The kubeconfig of the real cluster, or a clear failure when the test command did not provide one.</summary>
public static class RealCluster
{
    public static string Kubeconfig =>
        Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") is { Length: > 0 } p && File.Exists(p)
            ? p
            : throw new InvalidOperationException(
                "KUBESTEAD_TEST_KUBECONFIG does not name a kubeconfig; run the suite through ./test.sh, which starts ../shared/kube-apiserver");
}

/// <summary>The client's contract against a real API server, in a fresh namespace deleted afterwards.</summary>
public class RealClusterTests
{
    [RealClusterFact]
    public async Task Client_contract_holds_against_a_real_cluster()
    {
        var connection = KubeConfigResolver.Resolve(RealCluster.Kubeconfig);
        await using var client = new KubernetesClientAdapter(connection);
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
