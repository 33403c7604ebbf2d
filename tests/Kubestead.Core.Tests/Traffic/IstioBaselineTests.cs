using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// A created baseline on Istio (issue #13 item 5): a 'baseline' subset in the DestinationRule, a third destination in the
/// managed route with the canary's weight (stable 100 - 2w), both removed at clean-up; nothing else in either object changes.
/// </summary>
public class IstioBaselineTests
{
    private static readonly ResourceType Vs = IstioRouterTests.Vs;
    private static readonly ResourceType Dr = IstioRouterTests.Dr;

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    /// <summary>A DestinationRule as people write them: a traffic policy, per-subset policies, labels beyond the version.</summary>
    private const string RealWorldDr = """
        {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule",
         "metadata":{"name":"reviews","namespace":"bookinfo","labels":{"app":"reviews"},"annotations":{"team":"books"}},
         "spec":{"host":"reviews",
                 "trafficPolicy":{"connectionPool":{"tcp":{"maxConnections":100},"http":{"http1MaxPendingRequests":50}},
                                  "outlierDetection":{"consecutive5xxErrors":5,"interval":"30s","baseEjectionTime":"60s"},
                                  "tls":{"mode":"ISTIO_MUTUAL"}},
                 "subsets":[{"name":"stable","labels":{"app":"reviews","version":"stable"}},
                            {"name":"canary","labels":{"app":"reviews","version":"canary"},
                             "trafficPolicy":{"loadBalancer":{"simple":"LEAST_REQUEST"}}},
                            {"name":"v0","labels":{"version":"v0"}}]}}
        """;

    internal static EmulatedCluster Cluster(string? dr = null)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(Vs, JsonNode.Parse(Golden("virtualservice-real-world.json"))!.AsObject());
        cluster.Seed(Dr, JsonNode.Parse(dr ?? RealWorldDr)!.AsObject());
        cluster.Seed(ResourceType.Deployment, JsonNode.Parse("""
            {"metadata":{"name":"reviews","namespace":"bookinfo"},"spec":{"replicas":3,"template":{"metadata":{"labels":{"app":"reviews","version":"stable"}}}}}
            """)!.AsObject());
        return cluster;
    }

    internal static IstioRouter Router(EmulatedCluster cluster) =>
        new(cluster, new IstioRouterOptions("bookinfo", "reviews", "reviews", "reviews", "primary", "reviews",
            StableDeployment: "reviews", CanaryPodLabels: new Dictionary<string, string> { ["version"] = "canary" },
            BaselinePodLabels: new Dictionary<string, string> { ["version"] = "baseline" }));

    private static JsonObject Peek(EmulatedCluster c, ResourceType t) => c.Peek(t, "bookinfo", "reviews")!;

    /// <summary>The object without what the API server writes on every change, for golden comparison.</summary>
    private static string Stripped(JsonObject obj)
    {
        var copy = obj.DeepClone().AsObject();
        foreach (var key in new[] { "resourceVersion", "generation", "uid", "creationTimestamp", "managedFields" })
            copy["metadata"]!.AsObject().Remove(key);
        return copy.ToJsonString();
    }

    private static void AssertGolden(string name, JsonNode actual)
    {
        if (Environment.GetEnvironmentVariable("KUBESTEAD_WRITE_GOLDEN") is { Length: > 0 } dir)
            File.WriteAllText(Path.Combine(dir, name), actual.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Assert.Equal(JsonNode.Parse(Golden(name))!.ToJsonString(), actual.ToJsonString());
    }

    [Fact]
    public async Task Prepare_adds_the_subset_and_a_third_destination_and_a_weight_change_is_one_write_of_only_the_three_weights()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        var vsBefore = Peek(cluster, Vs);
        var drBefore = Peek(cluster, Dr);
        await router.ValidateAsync();
        await router.PrepareAsync();

        var dr = Peek(cluster, Dr);
        AssertGolden("destinationrule-baseline-prepared.json", JsonNode.Parse(Stripped(dr))!);
        // Only the appended subset and Kubestead's mark changed in the DestinationRule (the first three subsets are as they were).
        Assert.Equal(["/metadata/annotations/kubestead.io~1baseline-subset-added", "/spec/subsets"], JsonDiff.ChangedSpec(drBefore, dr).Order());
        Assert.Equal(drBefore["spec"]!["subsets"]!.ToJsonString(), new JsonArray(dr["spec"]!["subsets"]!.AsArray().Take(3).Select(x => x!.DeepClone()).ToArray()).ToJsonString());
        var prepared = Peek(cluster, Vs);
        AssertGolden("virtualservice-baseline-prepared.json", JsonNode.Parse(Stripped(prepared))!);
        Assert.All(JsonDiff.ChangedSpec(vsBefore, prepared), p => Assert.True(p == "/spec/http/1/route" || p.StartsWith("/metadata/annotations", StringComparison.Ordinal), p));
        Assert.Equal(vsBefore["spec"]!["http"]![1]!["route"]!.ToJsonString(),
            new JsonArray(prepared["spec"]!["http"]![1]!["route"]!.AsArray().Take(2).Select(x => x!.DeepClone()).ToArray()).ToJsonString());

        var plan = await router.PlanSetCanaryWeightAsync(10);
        var expected = Golden("istio-baseline-weight-10.patch.json").Replace("\"RV\"", $"\"{prepared["metadata"]!["resourceVersion"]}\"");
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), plan.Single().Body!.ToJsonString());
        Assert.Contains("stable 80% / canary 10% / baseline 10% (subset 'baseline')", plan.Single().Description);

        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(10);
        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal((80, 10), (split.StablePercent, split.CanaryPercent));
        var after = Peek(cluster, Vs);
        Assert.Equal(["/spec/http/1/route/0/weight", "/spec/http/1/route/1/weight", "/spec/http/1/route/2/weight"], JsonDiff.ChangedSpec(prepared, after).Order());
        Assert.Equal([80, 10, 10], after["spec"]!["http"]![1]!["route"]!.AsArray().Select(d => d!["weight"]!.GetValue<int>()));
        Assert.Null(await router.DetectDriftAsync(split));
    }

    [Fact]
    public async Task The_added_baseline_subset_carries_the_canary_subsets_trafficPolicy()
    {
        // The baseline is the canary's control: a different load balancer or pool would differ in latency for that alone.
        var cluster = Cluster();
        await Router(cluster).PrepareAsync();
        var subsets = Peek(cluster, Dr)["spec"]!["subsets"]!.AsArray();
        var canary = subsets.Single(x => x!["name"]!.GetValue<string>() == "canary")!;
        var baseline = subsets.Single(x => x!["name"]!.GetValue<string>() == "baseline")!;
        Assert.Equal("""{"loadBalancer":{"simple":"LEAST_REQUEST"}}""", baseline["trafficPolicy"]!.ToJsonString());
        Assert.Equal(canary["trafficPolicy"]!.ToJsonString(), baseline["trafficPolicy"]!.ToJsonString());
        Assert.Equal("""{"app":"reviews","version":"baseline"}""", baseline["labels"]!.ToJsonString());
    }

    [Fact]
    public async Task A_removed_baseline_subset_or_destination_is_drift_and_only_the_subset_puts_traffic_at_risk()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var split = await router.SetCanaryWeightAsync(10);
        Assert.Null(await router.DetectDriftAsync(split));

        var dr = Peek(cluster, Dr);
        var i = dr["spec"]!["subsets"]!.AsArray().Select(x => x!["name"]!.GetValue<string>()).ToList().IndexOf("baseline");
        await cluster.PatchAsync(Dr, "bookinfo", "reviews", new JsonPatch([JsonPatchOperation.Remove($"/spec/subsets/{i}")]));
        var drift = await router.DetectDriftAsync(split);
        Assert.NotNull(drift);
        Assert.True(drift.TrafficAtRisk);
        Assert.Equal("destinationrules.networking.istio.io/reviews in namespace bookinfo", drift.Target.ToString());
        Assert.Equal("/spec/subsets (subset 'baseline')", Assert.Single(drift.Fields).Path);
        Assert.Null(drift.Fields[0].Actual);

        await router.PrepareAsync();
        await cluster.PatchAsync(Vs, "bookinfo", "reviews", new JsonPatch([JsonPatchOperation.Remove("/spec/http/1/route/2")]));
        drift = await router.DetectDriftAsync(await router.GetSplitAsync());
        Assert.NotNull(drift);
        Assert.False(drift.TrafficAtRisk);
        Assert.Equal("/spec/http/1/route (destination subset 'baseline')", Assert.Single(drift.Fields).Path);
    }

    [Fact]
    public async Task The_header_route_goes_to_the_canary_only_and_cleanup_returns_both_objects_to_what_the_user_wrote()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        var vsBefore = Stripped(Peek(cluster, Vs));
        var drBefore = Stripped(Peek(cluster, Dr));
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(25);
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        var vs = Peek(cluster, Vs);
        var header = vs["spec"]!["http"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "kubestead-reviews-testers")!;
        Assert.Equal("""[{"destination":{"host":"reviews","subset":"canary","port":{"number":9080}}}]""", header["route"]!.ToJsonString());
        Assert.Equal([50, 25, 25], vs["spec"]!["http"]![2]!["route"]!.AsArray().Select(d => d!["weight"]!.GetValue<int>()));

        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        var vsAfter = JsonNode.Parse(Stripped(Peek(cluster, Vs)))!;
        // Only stable's weight differs from the seed (100 before, 100 after: nothing), and no baseline anywhere.
        Assert.Equal(vsBefore, vsAfter.ToJsonString());
        Assert.Equal(drBefore, Stripped(Peek(cluster, Dr)));
    }

    [Fact]
    public async Task Weight_patches_with_a_baseline_change_only_weights_sum_to_100_and_give_the_baseline_the_canarys_weight()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var vs = Peek(cluster, Vs);
        Check.QuickThrowOnFailure(Prop.ForAll(Gen.Choose(0, 100).ToArbitrary(), weight =>
        {
            var patched = router.BuildWeightPatch(vs, weight).Apply(vs);
            var w = patched["spec"]!["http"]![1]!["route"]!.AsArray().Select(d => d!["weight"]!.GetValue<int>()).ToArray();
            var onlyWeights = JsonDiff.Changed(vs, patched).All(p => p.StartsWith("/spec/http/1/route/", StringComparison.Ordinal) && p.EndsWith("/weight", StringComparison.Ordinal));
            return onlyWeights && w.Sum() == 100 && w[1] == weight && w[2] == Math.Min(weight, 100 - weight) && w.All(x => x >= 0);
        }));
    }

    [Theory]
    [MemberData(nameof(WriteCrashes.Upto), 6, MemberType = typeof(WriteCrashes))]
    public async Task A_crash_at_any_write_converges_on_resume_and_cleanup_leaves_no_subset_or_destination(int failingWrite, bool afterApply)
    {
        // Writes: 1 subset, 2 destination + annotations, 3 weight 20, 4 weight 0, 5 VirtualService clean-up, 6 subset removal.
        var cluster = Cluster();
        var vsBefore = Stripped(Peek(cluster, Vs));
        var drBefore = Stripped(Peek(cluster, Dr));
        cluster.FailWriteNumber(failingWrite, afterApply);
        await WriteCrashes.RunUntilDeathAsync(Router(cluster));
        if (failingWrite <= 3)
        {
            var again = Router(cluster);
            await again.PrepareAsync();
            await again.SetCanaryWeightAsync(20);
            var route = Peek(cluster, Vs)["spec"]!["http"]![1]!["route"]!.AsArray();
            Assert.Equal(["stable", "canary", "baseline"], route.Select(d => d!["destination"]!["subset"]!.GetValue<string>()));
            Assert.Equal([60, 20, 20], route.Select(d => d!["weight"]!.GetValue<int>()));
            Assert.Single(Peek(cluster, Dr)["spec"]!["subsets"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "baseline");
        }
        // Abort's path by a new driver.
        await WriteCrashes.AbortAsync(Router(cluster));
        Assert.Equal(vsBefore, Stripped(Peek(cluster, Vs)));
        Assert.Equal(drBefore, Stripped(Peek(cluster, Dr)));
    }

    [Fact]
    public async Task A_baseline_subset_the_user_already_has_is_used_and_kept()
    {
        var dr = JsonNode.Parse(RealWorldDr)!.AsObject();
        dr["spec"]!["subsets"]!.AsArray().Add(JsonNode.Parse("""{"name":"baseline","labels":{"version":"baseline"}}"""));
        var cluster = Cluster(dr.ToJsonString());
        var drBefore = Stripped(Peek(cluster, Dr));
        var router = Router(cluster);
        await router.ValidateAsync();
        await router.PrepareAsync();
        Assert.Equal(drBefore, Stripped(Peek(cluster, Dr)));
        await router.SetCanaryWeightAsync(10);
        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        Assert.Equal(drBefore, Stripped(Peek(cluster, Dr)));
        Assert.Equal(2, Peek(cluster, Vs)["spec"]!["http"]![1]!["route"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("""{"name":"canary","labels":{"track":"canary"}}""", null, "subset 'baseline' selects track=canary, but the baseline pods")]
    [InlineData("""{"name":"canary","labels":{"version":"canary"}}""", """{"name":"baseline","labels":{"version":"v1"}}""", "subset 'baseline' selects version=v1, but the baseline pods")]
    public async Task A_baseline_subset_that_would_select_no_baseline_pod_is_refused_and_nothing_is_written(string canarySubset, string? baselineSubset, string message)
    {
        var dr = JsonNode.Parse(RealWorldDr)!.AsObject();
        dr["spec"]!["subsets"]![1] = JsonNode.Parse(canarySubset);
        if (baselineSubset is not null) dr["spec"]!["subsets"]!.AsArray().Add(JsonNode.Parse(baselineSubset));
        var cluster = Cluster(dr.ToJsonString());
        var writes = cluster.Writes.Count;
        var router = new IstioRouter(cluster, new IstioRouterOptions("bookinfo", "reviews", "reviews", "reviews", "primary", "reviews",
            StableDeployment: "reviews", BaselinePodLabels: new Dictionary<string, string> { ["version"] = "baseline" }));
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.ValidateAsync());
        Assert.Equal("IstioSubsetLabelsMismatch", e.ErrorId);
        Assert.Contains(message, e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }
}
