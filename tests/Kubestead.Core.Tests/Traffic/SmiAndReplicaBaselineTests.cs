using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>A created baseline on SMI (a third backend) and without a mesh (baseline pods sized like the canary's), issue #13 item 5.</summary>
public class SmiBaselineTests
{
    private static ResourceType Split(string version) => new("split.smi-spec.io", version, "trafficsplits", "TrafficSplit");

    private static EmulatedCluster Cluster(string version, bool userSplit)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""{"metadata":{"name":"pay","namespace":"b"},"spec":{"selector":{"app":"pay"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}""")!.AsObject());
        if (userSplit)
            cluster.Seed(Split(version), JsonNode.Parse($$$"""
                {"apiVersion":"split.smi-spec.io/{{{version}}}","kind":"TrafficSplit",
                 "metadata":{"name":"pay","namespace":"b","labels":{"team":"payments"},"annotations":{"argocd.argoproj.io/sync-wave":"2"}},
                 "spec":{"service":"pay","backends":[{"service":"pay","weight":{{{(version == "v1alpha1" ? "\"1\"" : "100")}}}}]}}
                """)!.AsObject());
        return cluster;
    }

    private static SmiRouter Router(EmulatedCluster cluster, string version) =>
        new(cluster, new SmiRouterOptions("b", "pay", "pay", "pay-canary", new Dictionary<string, string> { ["version"] = "canary" }, ApiVersion: version,
            BaselineService: "pay-baseline", BaselinePodLabels: new Dictionary<string, string> { ["version"] = "baseline" }));

    [Theory]
    [InlineData("v1alpha1", false, """["800m","100m","100m"]""")]
    [InlineData("v1alpha2", false, "[80,10,10]")]
    [InlineData("v1alpha3", true, "[80,10,10]")]
    [InlineData("v1alpha4", true, "[80,10,10]")]
    public async Task The_baseline_backend_gets_the_canarys_share_in_one_write_and_cleanup_leaves_the_users_split_as_it_was(string version, bool userSplit, string weights)
    {
        var cluster = Cluster(version, userSplit);
        var before = cluster.Peek(Split(version), "b", "pay")?.DeepClone().AsObject();
        var router = Router(cluster, version);
        await router.ValidateAsync();
        await router.PrepareAsync();
        var svc = cluster.Peek(ResourceType.Service, "b", "pay-baseline")!;
        Assert.Equal("""{"app":"pay","version":"baseline"}""", svc["spec"]!["selector"]!.ToJsonString());
        var prepared = cluster.Peek(Split(version), "b", "pay")!;
        Assert.Equal(["pay", "pay-canary", "pay-baseline"], prepared["spec"]!["backends"]!.AsArray().Select(b => b!["service"]!.GetValue<string>()));

        var plan = await router.PlanSetCanaryWeightAsync(10);
        Assert.Contains("canary 10%, pay-baseline 10% (baseline)", plan.Single().Description);
        var writes = cluster.Writes.Count;
        var split = await router.SetCanaryWeightAsync(10);
        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal((80, 10), (Math.Round(split.StablePercent, 6), Math.Round(split.CanaryPercent, 6)));
        var after = cluster.Peek(Split(version), "b", "pay")!;
        Assert.Equal(weights, new JsonArray(after["spec"]!["backends"]!.AsArray().Select(b => b!["weight"]!.DeepClone()).ToArray()).ToJsonString());
        Assert.All(JsonDiff.ChangedSpec(prepared, after), p => Assert.Matches(@"^/spec/backends/\d/weight$", p));

        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
        Assert.Null(cluster.Peek(ResourceType.Service, "b", "pay-baseline"));
        Assert.Null(cluster.Peek(ResourceType.Service, "b", "pay-canary"));
        var end = cluster.Peek(Split(version), "b", "pay");
        if (!userSplit)
        {
            Assert.Null(end); // the split Kubestead created is gone
            return;
        }
        // The user's split: only stable's backend again, its weight what the last write left (the whole share), labels and annotations untouched.
        Assert.Equal(["pay"], end!["spec"]!["backends"]!.AsArray().Select(b => b!["service"]!.GetValue<string>()));
        Assert.Equal(before!["metadata"]!["labels"]!.ToJsonString(), end["metadata"]!["labels"]!.ToJsonString());
        Assert.Equal(before["metadata"]!["annotations"]!.ToJsonString(), end["metadata"]!["annotations"]!.ToJsonString());
        Assert.Equal(before["spec"]!["service"]!.ToJsonString(), end["spec"]!["service"]!.ToJsonString());
    }

    [Fact]
    public async Task Three_backend_patches_touch_only_weights_and_give_the_baseline_the_canarys_share()
    {
        var cluster = Cluster("v1alpha4", userSplit: true);
        var router = Router(cluster, "v1alpha4");
        await router.PrepareAsync();
        var split = cluster.Peek(Split("v1alpha4"), "b", "pay")!;
        Check.QuickThrowOnFailure(Prop.ForAll(Gen.Choose(0, 10000).Select(w => w / 100.0).ToArbitrary(), weight =>
        {
            var patched = router.BuildWeightPatch(split, weight).Apply(split);
            var w = patched["spec"]!["backends"]!.AsArray().Select(b => (double)b!["weight"]!.GetValue<int>()).ToArray();
            var total = w.Sum();
            return JsonDiff.Changed(split, patched).All(p => p.StartsWith("/spec/backends/", StringComparison.Ordinal) && p.EndsWith("/weight", StringComparison.Ordinal))
                   && Math.Abs(100 * w[1] / total - weight) < 1e-9
                   && Math.Abs(100 * w[2] / total - Math.Min(weight, 100 - weight)) < 1e-9
                   && w.All(x => x >= 0);
        }));
    }

    [Theory]
    [MemberData(nameof(WriteCrashes.Upto), 7, MemberType = typeof(WriteCrashes))]
    public async Task A_crash_at_any_write_converges_and_cleanup_leaves_no_baseline_backend_or_Service(int failingWrite, bool afterApply)
    {
        // Writes: 1 canary Service, 2 baseline Service, 3 backends, 4 weight 20, 5 weight 0, 6 split clean-up, 7.. Service deletes.
        var cluster = Cluster("v1alpha4", userSplit: true);
        cluster.FailWriteNumber(failingWrite, afterApply);
        await WriteCrashes.RunUntilDeathAsync(Router(cluster, "v1alpha4"));
        if (failingWrite <= 4)
        {
            var again = Router(cluster, "v1alpha4");
            await again.PrepareAsync();
            await again.SetCanaryWeightAsync(20);
            var backends = cluster.Peek(Split("v1alpha4"), "b", "pay")!["spec"]!["backends"]!.AsArray();
            Assert.Equal(["pay", "pay-canary", "pay-baseline"], backends.Select(b => b!["service"]!.GetValue<string>()));
            Assert.Equal([60, 20, 20], backends.Select(b => b!["weight"]!.GetValue<int>()));
        }
        await WriteCrashes.AbortAsync(Router(cluster, "v1alpha4"));
        Assert.Equal(["pay"], cluster.Peek(Split("v1alpha4"), "b", "pay")!["spec"]!["backends"]!.AsArray().Select(b => b!["service"]!.GetValue<string>()));
        Assert.Null(cluster.Peek(ResourceType.Service, "b", "pay-baseline"));
        Assert.Null(cluster.Peek(ResourceType.Service, "b", "pay-canary"));
    }
}

public class ReplicaRatioBaselineTests
{
    [Theory]
    [InlineData(10, 9, CapacityMode.KeepStable, 9, 1)]
    [InlineData(20, 9, CapacityMode.KeepStable, 9, 3)]
    [InlineData(40, 9, CapacityMode.KeepStable, 9, 18)]
    [InlineData(20, 10, CapacityMode.KeepTotal, 6, 2)]
    [InlineData(30, 10, CapacityMode.KeepTotal, 4, 3)]
    public void The_baseline_gets_as_many_pods_as_the_canary(double weight, int stable, CapacityMode mode, int expectStable, int expectCanary) =>
        Assert.Equal(new ReplicaPlan(expectStable, expectCanary, expectCanary), ReplicaRatioPlanner.Plan(weight, stable, mode, baseline: true));

    [Fact]
    public void Canary_and_baseline_shares_are_equal_and_near_the_request_for_any_achievable_weight()
    {
        var gen = from replicas in Gen.Choose(3, 60)
                  from weight in Gen.Choose(1, 4900).Select(w => w / 100.0)
                  from keepTotal in Gen.Elements(false, true)
                  select (replicas, weight, mode: keepTotal ? CapacityMode.KeepTotal : CapacityMode.KeepStable);
        Check.QuickThrowOnFailure(Prop.ForAll(gen.ToArbitrary(), c =>
        {
            ReplicaPlan plan;
            try
            {
                plan = ReplicaRatioPlanner.Plan(c.weight, c.replicas, c.mode, baseline: true);
            }
            catch (TrafficRoutingException e)
            {
                // Only below the one-pod minimum, and the message says what is possible.
                return e.ErrorId == "WeightBelowReplicaMinimum" && c.weight < ReplicaRatioPlanner.MinimumPercent(c.replicas, c.mode, baseline: true) * 0.5;
            }
            var total = plan.StablePercent + plan.CanaryPercent + plan.BaselinePercent;
            return plan.CanaryReplicas == plan.BaselineReplicas && plan.CanaryReplicas >= 1 && plan.StableReplicas >= 1
                   && Math.Abs(total - 100) < 1e-9
                   && (c.mode == CapacityMode.KeepTotal ? plan.StableReplicas + 2 * plan.CanaryReplicas == c.replicas : plan.StableReplicas == c.replicas);
        }));
    }

    [Theory]
    [InlineData(50, "use 0 to under 50")]
    [InlineData(1, "one canary pod and one baseline pod, about 9.1% each")]
    public void Impossible_shares_with_a_baseline_are_refused_saying_why(double weight, string message)
    {
        var e = Assert.Throws<TrafficRoutingException>(() => ReplicaRatioPlanner.Plan(weight, 9, CapacityMode.KeepStable, baseline: true));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task The_router_scales_canary_and_baseline_alike_and_counts_the_baseline_pods_in_the_split()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var cluster = new EmulatedCluster(clock, podReadyDelay: TimeSpan.FromSeconds(4));
        foreach (var (name, replicas) in new[] { ("api", 9), ("api-canary", 0), ("api-baseline", 0) })
            cluster.Seed(ResourceType.Deployment, JsonNode.Parse($$"""{"metadata":{"name":"{{name}}","namespace":"d"},"spec":{"replicas":{{replicas}},"template":{"metadata":{"labels":{"app":"api"} } } } }""")!.AsObject());
        clock.Advance(TimeSpan.FromMinutes(1));
        cluster.Materialize();
        var router = new ReplicaRatioRouter(cluster, new ReplicaRatioRouterOptions("d", "api", "api", "api", "api-canary", CapacityMode.KeepStable, TimeSpan.FromMinutes(1), clock)
        {
            BaselineDeployment = "api-baseline",
        });
        var plan = await router.PlanSetCanaryWeightAsync(20);
        Assert.Contains(plan, w => w.Description == "scale Deployment api-baseline to 3 (baseline about 20%, stable about 60%)");
        var apply = router.SetCanaryWeightAsync(20);
        while (!apply.IsCompleted) { clock.Advance(TimeSpan.FromSeconds(2)); await Task.Delay(1); }
        var split = await apply;
        Assert.Equal((60, 20), (Math.Round(split.StablePercent, 6), Math.Round(split.CanaryPercent, 6)));
        Assert.Equal(["api", "api-canary", "api-baseline"], split.Backends.Select(b => b.Backend));
        Assert.Equal([9.0, 3.0, 3.0], split.Backends.Select(b => b.Weight));
        Assert.Null(await router.DetectDriftAsync(split));

        // A driver that died between the canary's and the baseline's scale left the baseline behind: not drift (it is
        // Kubestead's own write), and the step's next write sizes it again.
        await cluster.PatchSubresourceAsync(ResourceType.Deployment, "d", "api-baseline", "scale", new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 1 } }));
        Assert.Null(await router.DetectDriftAsync(split));
        var again = router.SetCanaryWeightAsync(20);
        while (!again.IsCompleted) { clock.Advance(TimeSpan.FromSeconds(2)); await Task.Delay(1); }
        Assert.Equal(3.0, (await again).Backends[2].Weight);
    }
}
