using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>A created baseline on an HTTPRoute (issue #13 item 5): a third backendRef with the canary's share and a baseline Service.</summary>
public class GatewayApiBaselineTests
{
    private static readonly ResourceType Route = new("policy.linkerd.io", "v1beta3", "httproutes", "HTTPRoute");

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    private static JsonObject SeedRoute()
    {
        var route = JsonNode.Parse(Golden("httproute-parent-differs.json"))!.AsObject();
        route["apiVersion"] = "policy.linkerd.io/v1beta3";
        return route;
    }

    private static EmulatedCluster Cluster(JsonObject? route = null)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout-service","namespace":"shop"},"spec":{"selector":{"app":"checkout"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}
            """)!.AsObject());
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout-service-stable","namespace":"shop"},"spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":8080,"targetPort":8080}]}}
            """)!.AsObject());
        cluster.Seed(Route, route ?? SeedRoute());
        return cluster;
    }

    private static GatewayApiRouter Router(EmulatedCluster c) =>
        new(c, new GatewayApiRouterOptions("shop", "checkout", "checkout-service", "checkout-service-canary", new Dictionary<string, string> { ["version"] = "canary" },
            "checkout-service", "policy.linkerd.io", "v1beta3", "checkout-service-stable", "checkout-service-baseline",
            new Dictionary<string, string> { ["version"] = "baseline" }));

    [Fact]
    public async Task The_baseline_gets_the_canarys_share_and_only_weights_change_after_preparation()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.ValidateAsync();
        await router.PrepareAsync();
        var prepared = cluster.Peek(Route, "shop", "checkout-service")!;
        Assert.Equal("""{"name":"checkout-service-baseline","weight":0,"port":8080}""", prepared["spec"]!["rules"]![0]!["backendRefs"]![2]!.ToJsonString());
        var baselineSvc = cluster.Peek(ResourceType.Service, "shop", "checkout-service-baseline")!;
        Assert.Equal("""{"app":"checkout","version":"baseline"}""", baselineSvc["spec"]!["selector"]!.ToJsonString());

        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(10);
        Assert.Equal(1, cluster.Writes.Count - writes);
        var after = cluster.Peek(Route, "shop", "checkout-service")!;
        Assert.Equal(["/spec/rules/0/backendRefs/0/weight", "/spec/rules/0/backendRefs/1/weight", "/spec/rules/0/backendRefs/2/weight"],
            JsonDiff.ChangedSpec(prepared, after).Order().ToList());
        Assert.Equal([80, 10, 10], after["spec"]!["rules"]![0]!["backendRefs"]!.AsArray().Select(b => b!["weight"]!.GetValue<int>()));
        Assert.Equal((80, 10), (split.StablePercent, split.CanaryPercent));

        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        Assert.DoesNotContain(JsonDiff.ChangedSpec(SeedRoute()["spec"], cluster.Peek(Route, "shop", "checkout-service")!["spec"]),
            p => !p.EndsWith("/weight", StringComparison.Ordinal));
        Assert.Null(cluster.Peek(ResourceType.Service, "shop", "checkout-service-baseline"));
        Assert.Null(cluster.Peek(ResourceType.Service, "shop", "checkout-service-canary"));
    }

    [Fact]
    public async Task Three_way_patches_touch_only_the_three_weights_and_give_the_baseline_the_canarys_share()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var route = cluster.Peek(Route, "shop", "checkout-service")!;
        Check.QuickThrowOnFailure(Prop.ForAll(Gen.Choose(0, 10000).Select(w => w / 100.0).ToArbitrary(), weight =>
        {
            var patched = router.BuildWeightPatch(route, weight).Apply(route);
            var refs = patched["spec"]!["rules"]![0]!["backendRefs"]!.AsArray().Select(b => (double)b!["weight"]!.GetValue<int>()).ToArray();
            var total = refs.Sum();
            var changedOnlyWeights = JsonDiff.Changed(route, patched).All(p => p.StartsWith("/spec/rules/0/backendRefs/", StringComparison.Ordinal) && p.EndsWith("/weight", StringComparison.Ordinal));
            return changedOnlyWeights
                   && Math.Abs(100 * refs[1] / total - weight) < 1e-9
                   && Math.Abs(100 * refs[2] / total - Kubestead.Specs.RolloutSpec.BaselineShare(weight)) < 1e-9
                   && refs.All(r => r >= 0);
        }));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    public async Task A_crash_at_any_write_of_prepare_converges_to_one_baseline_backend(int failingWrite, bool afterApply)
    {
        var cluster = Cluster();
        cluster.FailWriteNumber(failingWrite, afterApply);
        try
        {
            var router = Router(cluster);
            await router.PrepareAsync();
            await router.SetCanaryWeightAsync(20);
        }
        catch (KubernetesApiException)
        {
        }
        var again = Router(cluster);
        await again.PrepareAsync();
        await again.SetCanaryWeightAsync(20);
        var refs = cluster.Peek(Route, "shop", "checkout-service")!["spec"]!["rules"]![0]!["backendRefs"]!.AsArray();
        Assert.Equal(["checkout-service-stable", "checkout-service-canary", "checkout-service-baseline"], refs.Select(r => r!["name"]!.GetValue<string>()));
        Assert.Equal([60, 20, 20], refs.Select(r => r!["weight"]!.GetValue<int>()));
        await again.SetCanaryWeightAsync(0);
        await again.CleanupAsync();
        Assert.Equal(2, cluster.Peek(Route, "shop", "checkout-service")!["spec"]!["rules"]![0]!["backendRefs"]!.AsArray().Count);
        Assert.Null(cluster.Peek(ResourceType.Service, "shop", "checkout-service-baseline"));
    }

    [Fact]
    public async Task A_users_baseline_Service_selecting_other_pods_is_refused_and_nothing_is_written()
    {
        var cluster = Cluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout-service-baseline","namespace":"shop"},"spec":{"selector":{"app":"checkout"},"ports":[{"port":8080}]}}
            """)!.AsObject());
        var writes = cluster.Writes.Count;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.Equal("CanaryServiceSelectsWrongPods", e.ErrorId);
        Assert.Contains("services/checkout-service-baseline in namespace shop: spec.selector must select only the canary pods (missing version=baseline)", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }
}
