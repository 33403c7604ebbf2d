using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// An HTTPRoute whose parent Service is not the stable backend (issue #13 item 1): parent <c>checkout-service</c>,
/// backends <c>checkout-service-stable</c> and <c>checkout-service-canary</c>, in both HTTPRoute API groups.
/// </summary>
public class GatewayApiStableServiceTests
{
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };

    private static ResourceType RouteType(string group) =>
        new(group, group == "policy.linkerd.io" ? "v1beta3" : "v1", "httproutes", "HTTPRoute");

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    private static JsonObject Route(string group)
    {
        var route = JsonNode.Parse(Golden("httproute-parent-differs.json"))!.AsObject();
        route["apiVersion"] = $"{group}/{RouteType(group).Version}";
        return route;
    }

    private static EmulatedCluster Cluster(JsonObject? route, string group, bool stableBackend = true)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout-service","namespace":"shop"},"spec":{"selector":{"app":"checkout"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}
            """)!.AsObject());
        if (stableBackend)
            cluster.Seed(ResourceType.Service, JsonNode.Parse("""
                {"metadata":{"name":"checkout-service-stable","namespace":"shop"},
                 "spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":8080,"targetPort":"http","protocol":"TCP","appProtocol":"http"}]}}
                """)!.AsObject());
        if (route is not null) cluster.Seed(RouteType(group), route);
        return cluster;
    }

    private static GatewayApiRouter Router(EmulatedCluster c, string group, string? route = "checkout-service", string? stable = "checkout-service-stable") =>
        new(c, new GatewayApiRouterOptions("shop", "checkout", "checkout-service", "checkout-service-canary", CanaryLabels, route,
            group, RouteType(group).Version, stable));

    public static TheoryData<string> Groups => new() { "gateway.networking.k8s.io", "policy.linkerd.io" };

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task The_seeds_route_only_gets_its_weights_changed_and_the_canary_Service_copies_the_stable_backend(string group)
    {
        var cluster = Cluster(Route(group), group);
        var router = Router(cluster, group);
        await router.ValidateAsync();
        await router.PrepareAsync();
        var before = cluster.Peek(RouteType(group), "shop", "checkout-service")!;
        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(25);
        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal(25, split.CanaryPercent, 9);
        var after = cluster.Peek(RouteType(group), "shop", "checkout-service")!;
        Assert.Equal(["/spec/rules/0/backendRefs/0/weight", "/spec/rules/0/backendRefs/1/weight"], JsonDiff.ChangedSpec(before, after));

        var canary = cluster.Peek(ResourceType.Service, "shop", "checkout-service-canary")!;
        Assert.Equal("""{"app":"checkout","version":"canary"}""", canary["spec"]!["selector"]!.ToJsonString());
        Assert.Equal("""[{"name":"http","port":8080,"targetPort":"http","protocol":"TCP","appProtocol":"http"}]""", canary["spec"]!["ports"]!.ToJsonString());

        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        var clean = cluster.Peek(RouteType(group), "shop", "checkout-service")!;
        Assert.DoesNotContain(JsonDiff.ChangedSpec(Route(group)["spec"], clean["spec"]), p => !p.EndsWith("/weight", StringComparison.Ordinal));
        Assert.Null(clean["metadata"]!["annotations"]?["kubestead.io/rollout"]);
        Assert.Null(cluster.Peek(ResourceType.Service, "shop", "checkout-service-canary"));
        Assert.NotNull(cluster.Peek(ResourceType.Service, "shop", "checkout-service-stable"));
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task A_route_Kubestead_creates_is_parented_on_the_Service_and_sends_to_the_stable_backend(string group)
    {
        var cluster = Cluster(null, group);
        var router = Router(cluster, group, route: null);
        await router.PrepareAsync();
        var created = cluster.Peek(RouteType(group), "shop", "checkout-service-kubestead")!;
        Assert.Equal("""[{"name":"checkout-service","kind":"Service","group":"core","port":80}]""", created["spec"]!["parentRefs"]!.ToJsonString());
        Assert.Equal("""[{"name":"checkout-service-stable","weight":100,"port":8080},{"name":"checkout-service-canary","weight":0,"port":8080}]""",
            created["spec"]!["rules"]![0]!["backendRefs"]!.ToJsonString());
        await router.CleanupAsync();
        Assert.Null(cluster.Peek(RouteType(group), "shop", "checkout-service-kubestead"));
    }

    [Fact]
    public void Weight_patches_touch_only_the_managed_rules_two_weights_for_any_weight_and_route_shape()
    {
        var gen =
            from weight in Gen.Choose(0, 10000)
            from before in Gen.Choose(0, 3)
            from after in Gen.Choose(0, 3)
            from filters in Gen.Elements(true, false)
            select (weight: weight / 100.0, before, after, filters);
        Check.QuickThrowOnFailure(Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var route = Route("gateway.networking.k8s.io");
            route["metadata"]!["resourceVersion"] = "5";
            var rules = route["spec"]!["rules"]!.AsArray();
            var managed = rules[0]!.DeepClone().AsObject();
            if (!t.filters) managed.Remove("filters");
            rules.Clear();
            for (var i = 0; i < t.before; i++)
                rules.Add(new JsonObject { ["matches"] = new JsonArray(new JsonObject { ["path"] = new JsonObject { ["type"] = "PathPrefix", ["value"] = $"/b{i}" } }),
                    ["backendRefs"] = new JsonArray(new JsonObject { ["name"] = $"other-{i}", ["port"] = 80 }) });
            rules.Add(managed);
            for (var i = 0; i < t.after; i++)
                rules.Add(new JsonObject { ["matches"] = new JsonArray(new JsonObject { ["headers"] = new JsonArray(new JsonObject { ["name"] = "x-a", ["value"] = $"{i}" }) }),
                    ["backendRefs"] = new JsonArray(new JsonObject { ["name"] = "checkout-service-stable", ["port"] = 8080 }) });
            var router = Router(Cluster(route, "gateway.networking.k8s.io"), "gateway.networking.k8s.io");
            var patched = router.BuildWeightPatch(route, t.weight).Apply(route);
            var changed = JsonDiff.Changed(route, patched);
            var refs = patched["spec"]!["rules"]![t.before]!["backendRefs"]!.AsArray();
            var s = refs[0]!["weight"]!.GetValue<int>();
            var c = refs[1]!["weight"]!.GetValue<int>();
            return changed.All(p => p == $"/spec/rules/{t.before}/backendRefs/0/weight" || p == $"/spec/rules/{t.before}/backendRefs/1/weight")
                   && Math.Abs(100.0 * c / (s + c) - t.weight) < 0.006;
        }));
    }

    [Fact]
    public async Task A_missing_stable_backend_Service_is_refused_naming_the_field_and_nothing_is_written()
    {
        var cluster = Cluster(Route("gateway.networking.k8s.io"), "gateway.networking.k8s.io", stableBackend: false);
        var writes = cluster.Writes.Count;
        var router = Router(cluster, "gateway.networking.k8s.io");
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.ValidateAsync());
        Assert.Contains("spec.linkerd.stableService: services/checkout-service-stable in namespace shop does not exist", e.Message);
        await Assert.ThrowsAsync<TrafficRoutingException>(() => router.PrepareAsync());
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task Without_stableService_the_seeds_route_is_refused_with_a_hint_and_nothing_is_written()
    {
        var cluster = Cluster(Route("policy.linkerd.io"), "policy.linkerd.io");
        var writes = cluster.Writes.Count;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster, "policy.linkerd.io", stable: null).ValidateAsync());
        Assert.Equal("HttpRouteRuleNotFound", e.ErrorId);
        Assert.Contains("no rule without header matches sends to Service 'checkout-service'", e.Message);
        Assert.Contains("spec.linkerd.stableService", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task A_missing_parent_Service_is_refused_naming_spec_service()
    {
        var cluster = Cluster(Route("gateway.networking.k8s.io"), "gateway.networking.k8s.io");
        await cluster.DeleteAsync(ResourceType.Service, "shop", "checkout-service", new DeleteOptions());
        var writes = cluster.Writes.Count;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster, "gateway.networking.k8s.io").ValidateAsync());
        Assert.Contains("spec.service: services/checkout-service in namespace shop does not exist", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public async Task A_crash_at_any_write_of_prepare_and_the_first_weight_converges_on_retry(int failingWrite, bool afterApply)
    {
        const string group = "policy.linkerd.io";
        var cluster = Cluster(Route(group), group);
        var router = Router(cluster, group);
        cluster.FailWriteNumber(failingWrite, afterApply);
        try
        {
            await router.PrepareAsync();
            await router.SetCanaryWeightAsync(10);
        }
        catch (KubernetesApiException)
        {
        }
        // A fresh driver (another process) picks up from whatever the crash left.
        var again = Router(cluster, group);
        await again.PrepareAsync();
        Assert.Equal(10, (await again.SetCanaryWeightAsync(10)).CanaryPercent, 9);
        var route = cluster.Peek(RouteType(group), "shop", "checkout-service")!;
        Assert.Equal(2, route["spec"]!["rules"]![0]!["backendRefs"]!.AsArray().Count);
        Assert.NotNull(cluster.Peek(ResourceType.Service, "shop", "checkout-service-canary"));
        await again.SetCanaryWeightAsync(0);
        await again.CleanupAsync();
        Assert.DoesNotContain(JsonDiff.ChangedSpec(Route(group)["spec"], cluster.Peek(RouteType(group), "shop", "checkout-service")!["spec"]),
            p => !p.EndsWith("/weight", StringComparison.Ordinal));
    }
}
