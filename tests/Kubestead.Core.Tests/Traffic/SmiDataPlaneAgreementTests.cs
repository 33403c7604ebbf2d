using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// A user's TrafficSplit that already names the canary backend (the shape Argo Rollouts' SMI router leaves: canary
/// first at weight 0, stable second) goes back to exactly that at the end. Shares follow the SMI spec: each backend's
/// weight over the sum.
/// </summary>
public class SmiDataPlaneAgreementTests
{
    private static readonly ResourceType Split = new("split.smi-spec.io", "v1alpha2", "trafficsplits", "TrafficSplit");

    private static EmulatedCluster Cluster(string backends)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""{"metadata":{"name":"pay","namespace":"b"},"spec":{"selector":{"app":"pay"},"ports":[{"port":80}]}}""")!.AsObject());
        cluster.Seed(Split, JsonNode.Parse($$$"""
            {"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"pay","namespace":"b"},
             "spec":{"service":"pay","backends":{{{backends}}}}}
            """)!.AsObject());
        return cluster;
    }

    private static SmiRouter Router(EmulatedCluster c) =>
        new(c, new SmiRouterOptions("b", "pay", "pay", "pay-canary", new Dictionary<string, string> { ["version"] = "canary" }));

    private static double CanaryShare(EmulatedCluster c)
    {
        var backends = c.Peek(Split, "b", "pay")!["spec"]!["backends"]!.AsArray().OfType<JsonObject>().ToList();
        var total = backends.Sum(b => b["weight"]!.GetValue<double>());
        return backends.Where(b => b["service"]!.GetValue<string>() == "pay-canary").Sum(b => b["weight"]!.GetValue<double>()) / total;
    }

    [Fact]
    public async Task Clean_up_keeps_a_canary_backend_the_users_split_already_had()
    {
        var cluster = Cluster("""[{"service":"pay-canary","weight":0},{"service":"pay","weight":100}]""");
        var before = cluster.Peek(Split, "b", "pay")!;
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(30);
        Assert.Equal(0.3, CanaryShare(cluster), 9);

        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();

        Assert.Equal(0, CanaryShare(cluster));
        Assert.Empty(JsonDiff.ChangedSpec(before, cluster.Peek(Split, "b", "pay")));
    }

    [Fact]
    public async Task Clean_up_removes_the_canary_backend_Kubestead_added()
    {
        var cluster = Cluster("""[{"service":"pay","weight":100}]""");
        var before = cluster.Peek(Split, "b", "pay")!;
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.PrepareAsync(); // a second preparation (a resumed start) keeps the mark
        await router.SetCanaryWeightAsync(30);
        await router.SetCanaryWeightAsync(0);

        await router.CleanupAsync();

        Assert.Empty(JsonDiff.ChangedSpec(before, cluster.Peek(Split, "b", "pay")));
    }

    [Theory]
    [InlineData("flagger.app/v1beta1", "Canary", "pay", """[{"service":"pay-primary","weight":100},{"service":"pay-canary","weight":0}]""", "Flagger's Canary 'pay' (apex 'pay', backends pay-primary, pay-canary)")]
    [InlineData("argoproj.io/v1alpha1", "Rollout", "pay", """[{"service":"pay-canary","weight":0},{"service":"pay-stable","weight":100}]""", "Argo Rollouts' Rollout 'pay' (root Service 'pay', backends pay-canary, pay-stable)")]
    public async Task A_split_another_controller_owns_is_refused_saying_how_to_move_the_service(string apiVersion, string kind, string owner, string backends, string says)
    {
        var cluster = Cluster(backends);
        await cluster.PatchAsync(Split, "b", "pay", new JsonPatch([JsonPatchOperation.Add("/metadata/ownerReferences", JsonNode.Parse($$"""
            [{"apiVersion":"{{apiVersion}}","kind":"{{kind}}","name":"{{owner}}","uid":"5b2c7a8e-0000-4000-8000-000000000001","controller":true}]
            """))]));
        var writes = cluster.Writes.Count;

        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());

        Assert.Contains(says, e.Message);
        Assert.Contains("To move", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }
}
