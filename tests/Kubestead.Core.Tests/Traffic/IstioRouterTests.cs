using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

public class IstioRouterTests
{
    internal static readonly ResourceType Vs = new("networking.istio.io", "v1", "virtualservices", "VirtualService");
    internal static readonly ResourceType Dr = new("networking.istio.io", "v1", "destinationrules", "DestinationRule");

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    private static (EmulatedCluster Cluster, IstioRouter Router) Setup(string? vsJson = null, string canarySubset = "canary", string? routeName = null)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(Vs, JsonNode.Parse(vsJson ?? Golden("virtualservice-real-world.json"))!.AsObject());
        cluster.Seed(Dr, JsonNode.Parse($$"""
            {"metadata":{"name":"reviews","namespace":"bookinfo"},"spec":{"host":"reviews","subsets":[
              {"name":"stable","labels":{"version":"stable"} },{"name":"{{canarySubset}}","labels":{"version":"canary"} }]} }
            """)!.AsObject());
        cluster.Seed(ResourceType.Deployment, JsonNode.Parse("""
            {"metadata":{"name":"reviews","namespace":"bookinfo"},"spec":{"replicas":3,"template":{"metadata":{"labels":{"app":"reviews","version":"stable"}}}}}
            """)!.AsObject());
        var router = new IstioRouter(cluster, new IstioRouterOptions("bookinfo", "reviews", "reviews", "reviews", routeName, "reviews",
            StableDeployment: "reviews", CanaryPodLabels: new Dictionary<string, string> { ["version"] = "canary" }));
        return (cluster, router);
    }

    [Fact]
    public async Task A_weight_change_is_one_write_matching_the_golden_patch_and_touches_only_weights()
    {
        var (cluster, router) = Setup();
        await router.ValidateAsync();
        var before = cluster.Peek(Vs, "bookinfo", "reviews")!;
        var plan = await router.PlanSetCanaryWeightAsync(30);
        var expected = Golden("istio-weight-30.patch.json").Replace("\"RV\"", $"\"{before["metadata"]!["resourceVersion"]}\"");
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), plan.Single().Body!.ToJsonString());

        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(30);
        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal((70, 30), (split.StablePercent, split.CanaryPercent));
        var after = cluster.Peek(Vs, "bookinfo", "reviews")!;
        Assert.Equal(["/spec/http/1/route/0/weight", "/spec/http/1/route/1/weight"], JsonDiff.ChangedSpec(before, after));
    }

    [Fact]
    public void Patches_change_only_weight_fields_and_the_managed_route_sums_to_100_for_any_weight_and_route_shape()
    {
        // Property: random weights on random VirtualServices (extra routes before and after, optional names, extra fields).
        var gen =
            from weight in Gen.Choose(0, 100)
            from before in Gen.Choose(0, 3)
            from after in Gen.Choose(0, 3)
            from named in Gen.Elements(true, false)
            from retries in Gen.Choose(0, 5)
            select (weight, before, after, named, retries);
        Check.QuickThrowOnFailure(Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var routes = new JsonArray();
            for (var i = 0; i < t.before; i++)
                routes.Add(new JsonObject { ["name"] = $"before-{i}", ["match"] = new JsonArray(new JsonObject { ["uri"] = new JsonObject { ["prefix"] = $"/b{i}" } }),
                    ["route"] = new JsonArray(new JsonObject { ["destination"] = new JsonObject { ["host"] = $"other-{i}" } }) });
            var managed = new JsonObject
            {
                ["route"] = new JsonArray(
                    new JsonObject { ["destination"] = new JsonObject { ["host"] = "reviews", ["subset"] = "stable" }, ["weight"] = 100 },
                    new JsonObject { ["destination"] = new JsonObject { ["host"] = "reviews", ["subset"] = "canary" } }),
                ["retries"] = new JsonObject { ["attempts"] = t.retries },
            };
            if (t.named) managed["name"] = "primary";
            routes.Add(managed);
            for (var i = 0; i < t.after; i++)
                routes.Add(new JsonObject { ["route"] = new JsonArray(new JsonObject { ["destination"] = new JsonObject { ["host"] = $"tail-{i}" }, ["weight"] = 100 }) });
            var vs = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "reviews", ["namespace"] = "bookinfo", ["resourceVersion"] = "7" },
                ["spec"] = new JsonObject { ["hosts"] = new JsonArray("reviews"), ["http"] = routes } };
            var (_, router) = Setup(vs.ToJsonString());
            var patched = router.BuildWeightPatch(vs, t.weight).Apply(vs);
            var changed = JsonDiff.Changed(vs, patched);
            var route = patched["spec"]!["http"]![t.before]!["route"]!.AsArray();
            return changed.All(p => p.EndsWith("/weight", StringComparison.Ordinal) && p.StartsWith($"/spec/http/{t.before}/route/", StringComparison.Ordinal))
                   && route.Sum(d => d!["weight"]!.GetValue<int>()) == 100
                   && route[1]!["weight"]!.GetValue<int>() == t.weight;
        }));
    }

    [Fact]
    public async Task Header_route_goes_before_the_weighted_route_and_is_removed_at_cleanup()
    {
        var (cluster, router) = Setup();
        await router.PrepareAsync();
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        var vs = cluster.Peek(Vs, "bookinfo", "reviews")!;
        var http = vs["spec"]!["http"]!.AsArray();
        Assert.Equal("kubestead-reviews-testers", http[1]!["name"]!.GetValue<string>());
        Assert.Equal("true", http[1]!["match"]![0]!["headers"]!["x-canary"]!["exact"]!.GetValue<string>());
        Assert.Equal("canary", http[1]!["route"]![0]!["destination"]!["subset"]!.GetValue<string>());
        Assert.Equal("reviews", vs["metadata"]!["annotations"]!["kubestead.io/rollout"]!.GetValue<string>());
        Assert.Equal(30, (await router.SetCanaryWeightAsync(30)).CanaryPercent); // the managed route is found after the insert
        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        var clean = cluster.Peek(Vs, "bookinfo", "reviews")!;
        var original = JsonNode.Parse(Golden("virtualservice-real-world.json"))!;
        Assert.DoesNotContain(JsonDiff.ChangedSpec(original["spec"], clean["spec"]), p => !p.EndsWith("/weight"));
        Assert.Null(clean["metadata"]!["annotations"]?["kubestead.io/rollout"]);
    }

    [Fact]
    public async Task Drift_names_the_field_and_the_gitops_controller()
    {
        var (cluster, router) = Setup();
        await router.SetCanaryWeightAsync(20);
        var written = await router.GetSplitAsync();
        Assert.Null(await router.DetectDriftAsync(written));
        await cluster.PatchAsync(Vs, "bookinfo", "reviews", new JsonPatch([
            JsonPatchOperation.Replace("/spec/http/1/route/1/weight", 0), JsonPatchOperation.Replace("/spec/http/1/route/0/weight", 100),
            JsonPatchOperation.Add("/metadata/annotations", new JsonObject { ["argocd.argoproj.io/tracking-id"] = "shop:networking.istio.io/VirtualService:bookinfo/reviews" }),
        ]));
        var drift = await router.DetectDriftAsync(written);
        Assert.NotNull(drift);
        Assert.Contains(drift.Fields, f => f.Path == "/spec/http/1/route/1/weight" && f.Expected == "20" && f.Actual == "0");
        Assert.Equal("Argo CD", drift.GitOpsController);
        var (argo, flux, pointers) = await router.GitOpsConfigAsync();
        Assert.Contains("/spec/http/1/route/1/weight", pointers);
        Assert.Contains("select(.name == \"primary\")", argo);
        Assert.Contains("kustomize.toolkit.fluxcd.io/ssa: IfNotPresent", flux);
    }

    [Theory]
    [InlineData("missing-subset")]
    [InlineData("ambiguous-route")]
    [InlineData("unknown-route")]
    [InlineData("weight-out-of-range")]
    [InlineData("fractional-weight")]
    [InlineData("missing-virtualservice")]
    public async Task Bad_input_names_the_object_and_field_and_writes_nothing(string problem)
    {
        var vs = Golden("virtualservice-real-world.json");
        var (cluster, router) = problem switch
        {
            "missing-subset" => Setup(canarySubset: "v2"),
            "ambiguous-route" => Setup(vs.Replace("\"name\": \"legacy\",\n        \"route\": [ { \"destination\": { \"host\": \"reviews-legacy\" }, \"weight\": 100 } ]",
                "\"name\": \"legacy\",\n        \"route\": [ { \"destination\": { \"host\": \"reviews\", \"subset\": \"stable\" }, \"weight\": 50 }, { \"destination\": { \"host\": \"reviews\", \"subset\": \"canary\" }, \"weight\": 50 } ]")),
            "unknown-route" => Setup(routeName: "main"),
            _ => Setup(),
        };
        var writes = cluster.Writes.Count;
        var act = problem switch
        {
            "weight-out-of-range" => () => router.SetCanaryWeightAsync(120),
            "fractional-weight" => () => router.SetCanaryWeightAsync(0.5),
            "missing-virtualservice" => () => new IstioRouter(cluster, new IstioRouterOptions("bookinfo", "reviews", "nope", "reviews")).SetCanaryWeightAsync(5),
            _ => (Func<Task>)(() => router.ValidateAsync()),
        };
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(act);
        var expected = problem switch
        {
            "missing-subset" => "destinationrules.networking.istio.io/reviews in namespace bookinfo: spec.subsets has no subset named 'canary' (it has: stable, v2)",
            "ambiguous-route" => "2 HTTP routes send to both stable and canary (primary, legacy)",
            "unknown-route" => "spec.http has no route named 'main' (routes: admin, primary, legacy)",
            "weight-out-of-range" => "weight 120 is out of range 0..100",
            "fractional-weight" => "Istio route weights are whole percents",
            _ => "spec.istio.virtualService.name: virtualservices.networking.istio.io/nope in namespace bookinfo does not exist",
        };
        Assert.Contains(expected, e.Message);
        Assert.Equal(KubesteadErrorKind.InvalidInput, e.Kind);
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task An_interrupted_write_leaves_the_route_unchanged_and_a_retry_converges()
    {
        var (cluster, router) = Setup();
        var before = cluster.Peek(Vs, "bookinfo", "reviews")!;
        cluster.InjectFault("PATCH", "virtualservices", "reviews");
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.SetCanaryWeightAsync(40));
        Assert.Empty(JsonDiff.ChangedSpec(before, cluster.Peek(Vs, "bookinfo", "reviews")));
        Assert.Equal(40, (await router.SetCanaryWeightAsync(40)).CanaryPercent);
    }

    [Fact]
    public async Task A_concurrent_edit_makes_the_weight_patch_fail_loudly()
    {
        var (cluster, router) = Setup();
        var stale = cluster.Peek(Vs, "bookinfo", "reviews")!;
        await cluster.PatchAsync(Vs, "bookinfo", "reviews", new MergePatch(JsonNode.Parse("""{"metadata":{"labels":{"team":"x"}}}""")!));
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => cluster.PatchAsync(Vs, "bookinfo", "reviews", router.BuildWeightPatch(stale, 10)));
        Assert.True(e.IsInvalid);
    }
}
