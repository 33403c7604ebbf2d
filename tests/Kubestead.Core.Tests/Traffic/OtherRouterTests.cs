using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

public class GatewayApiRouterTests
{
    private static readonly ResourceType Route = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };

    private static EmulatedCluster Cluster(string? routeJson = null)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout","namespace":"store"},"spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":8080,"targetPort":8080}]}}
            """)!.AsObject());
        if (routeJson is not null) cluster.Seed(Route, JsonNode.Parse(routeJson)!.AsObject());
        return cluster;
    }

    private static GatewayApiRouter Router(EmulatedCluster c, string? route = "checkout") =>
        new(c, new GatewayApiRouterOptions("store", "checkout", "checkout", "checkout-canary", CanaryLabels, route));

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    [Fact]
    public async Task Existing_route_with_rules_and_filters_only_gets_its_weights_changed_and_sub_percent_shares_work()
    {
        var cluster = Cluster(Golden("httproute-real-world.json"));
        var router = Router(cluster);
        await router.ValidateAsync();
        await router.PrepareAsync();
        var before = cluster.Peek(Route, "store", "checkout")!;
        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(0.1);
        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal(0.1, split.CanaryPercent, 9);
        var after = cluster.Peek(Route, "store", "checkout")!;
        Assert.Equal(["/spec/rules/1/backendRefs/0/weight", "/spec/rules/1/backendRefs/1/weight"], JsonDiff.ChangedSpec(before, after));
        Assert.Equal(999, after["spec"]!["rules"]![1]!["backendRefs"]![0]!["weight"]!.GetValue<int>());
        Assert.Equal(1, after["spec"]!["rules"]![1]!["backendRefs"]![1]!["weight"]!.GetValue<int>());
        var canarySvc = cluster.Peek(ResourceType.Service, "store", "checkout-canary")!;
        Assert.Equal("canary", canarySvc["spec"]!["selector"]!["version"]!.GetValue<string>());
        Assert.Equal(8080, canarySvc["spec"]!["ports"]![0]!["port"]!.GetValue<int>());
    }

    [Fact]
    public async Task Cleanup_removes_only_the_canary_backendRef_Kubestead_added()
    {
        // The user's route already lists checkout-canary (weight 0): it must survive clean-up, as found.
        var users = Cluster(Golden("httproute-real-world.json"));
        var router = Router(users);
        var found = users.Peek(Route, "store", "checkout")!;
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(30);
        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        Assert.Empty(JsonDiff.ChangedSpec(found, users.Peek(Route, "store", "checkout")!));

        // A route with only the stable backend gets one added for the rollout, and loses it again at clean-up.
        var plain = JsonNode.Parse(Golden("httproute-real-world.json"))!.AsObject();
        plain["spec"]!["rules"]![1]!["backendRefs"]!.AsArray().RemoveAt(1);
        plain["spec"]!["rules"]!.AsArray().RemoveAt(0); // one rule to checkout, so the managed one is unambiguous
        var ours = Cluster(plain.ToJsonString());
        var router2 = Router(ours);
        var before = ours.Peek(Route, "store", "checkout")!;
        await router2.PrepareAsync();
        Assert.Equal(2, ours.Peek(Route, "store", "checkout")!["spec"]!["rules"]![0]!["backendRefs"]!.AsArray().Count);
        await router2.CleanupAsync();
        Assert.Empty(JsonDiff.ChangedSpec(before, ours.Peek(Route, "store", "checkout")!));
    }

    [Fact]
    public async Task Created_route_and_service_are_removed_at_cleanup_but_a_users_service_is_kept()
    {
        var cluster = Cluster();
        var router = Router(cluster, route: null);
        await router.PrepareAsync();
        Assert.NotNull(cluster.Peek(Route, "store", "checkout-kubestead"));
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        Assert.Equal(2, cluster.Peek(Route, "store", "checkout-kubestead")!["spec"]!["rules"]!.AsArray().Count);
        await router.RemoveHeaderRouteAsync("testers");
        Assert.Single(cluster.Peek(Route, "store", "checkout-kubestead")!["spec"]!["rules"]!.AsArray());
        await router.CleanupAsync();
        Assert.Null(cluster.Peek(Route, "store", "checkout-kubestead"));
        Assert.Null(cluster.Peek(ResourceType.Service, "store", "checkout-canary"));
        Assert.NotNull(cluster.Peek(ResourceType.Service, "store", "checkout"));
    }

    [Fact]
    public async Task A_route_naming_other_services_is_refused_without_a_write()
    {
        var cluster = Cluster("""
            {"metadata":{"name":"checkout","namespace":"store"},"spec":{"parentRefs":[{"group":"core","kind":"Service","name":"checkout"}],
             "rules":[{"backendRefs":[{"name":"checkout","port":8080,"weight":90},{"name":"payments","port":8080,"weight":10}]}]}}
            """);
        var writes = cluster.Writes.Count;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.Contains("httproutes.gateway.networking.k8s.io/checkout in namespace store: spec.rules[0].backendRefs also names payments", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }
}

public class SmiRouterTests
{
    [Theory]
    [InlineData("v1alpha1", "\"750m\"", "\"250m\"")]
    [InlineData("v1alpha2", "75", "25")]
    [InlineData("v1alpha4", "75", "25")]
    public async Task Weights_use_the_versions_format(string version, string stable, string canary)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""{"metadata":{"name":"pay","namespace":"b"},"spec":{"selector":{"app":"pay"},"ports":[{"port":80}]}}""")!.AsObject());
        var router = new SmiRouter(cluster, new SmiRouterOptions("b", "pay", "pay", "pay-canary", new Dictionary<string, string> { ["version"] = "canary" }, ApiVersion: version));
        await router.PrepareAsync();
        var split = await router.SetCanaryWeightAsync(25);
        Assert.Equal(25, split.CanaryPercent, 9);
        var ts = cluster.Peek(new ResourceType("split.smi-spec.io", version, "trafficsplits", "TrafficSplit"), "b", "pay")!;
        Assert.Equal(stable, ts["spec"]!["backends"]![0]!["weight"]!.ToJsonString());
        Assert.Equal(canary, ts["spec"]!["backends"]![1]!["weight"]!.ToJsonString());
        await Assert.ThrowsAsync<TrafficRoutingException>(() => router.SetHeaderRouteAsync(HeaderRoute.Default("t")));
    }
}

public class ReplicaRatioTests
{
    [Theory]
    [InlineData(10, 9.09)]
    [InlineData(50, 1.96)]
    public void The_minimum_share_is_one_canary_pod(int replicas, double minimum) =>
        Assert.Equal(minimum, ReplicaRatioPlanner.MinimumPercent(replicas, CapacityMode.KeepStable), 2);

    [Fact]
    public void A_1_percent_request_on_10_replicas_fails_saying_what_is_possible()
    {
        var e = Assert.Throws<TrafficRoutingException>(() => ReplicaRatioPlanner.Plan(1, 10, CapacityMode.KeepStable));
        Assert.Contains("about 9.1%", e.Message);
        Assert.Contains("Use a mesh", e.Message);
        Assert.Contains("at 50 replicas it would be about 2%", e.Message);
    }

    [Theory]
    [InlineData(10, 10, CapacityMode.KeepStable, 10, 1)]
    [InlineData(25, 9, CapacityMode.KeepStable, 9, 3)]
    [InlineData(50, 9, CapacityMode.KeepStable, 9, 9)]
    [InlineData(30, 10, CapacityMode.KeepTotal, 7, 3)]
    public void Plans_round_to_the_nearest_achievable_share(double weight, int stable, CapacityMode mode, int expectStable, int expectCanary) =>
        Assert.Equal(new ReplicaPlan(expectStable, expectCanary), ReplicaRatioPlanner.Plan(weight, stable, mode));

    [Fact]
    public async Task Scaling_counts_as_applied_only_when_pods_are_ready()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var cluster = new EmulatedCluster(clock, podReadyDelay: TimeSpan.FromSeconds(30));
        foreach (var name in new[] { "api", "api-canary" })
            cluster.Seed(ResourceType.Deployment, JsonNode.Parse($$"""{"metadata":{"name":"{{name}}","namespace":"d"},"spec":{"replicas":{{(name == "api" ? 9 : 0)}},"template":{"metadata":{"labels":{"app":"api"} } } } }""")!.AsObject());
        clock.Advance(TimeSpan.FromMinutes(1));
        cluster.Materialize();
        var router = new ReplicaRatioRouter(cluster, new ReplicaRatioRouterOptions("d", "api", "api", "api", "api-canary", CapacityMode.KeepStable, TimeSpan.FromSeconds(20), clock));
        var apply = router.SetCanaryWeightAsync(10);
        // Pods take 30 s but the timeout is 20 s: the step is not counted as applied.
        while (!apply.IsCompleted) { clock.Advance(TimeSpan.FromSeconds(2)); await Task.Delay(1); }
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => apply);
        Assert.Contains("did not become ready within 20s", e.Message);
    }
}
