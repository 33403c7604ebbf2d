using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25 item 4: an object or part Kubestead added (a baseline subset, the canary Service, a header route) that
/// someone else removes mid-rollout is drift, seen in the next round: the rollout pauses naming it, and no weight is
/// left on something that no longer exists. Resume puts it back and finishes.
/// </summary>
public class AddedPartsDriftTests
{
    /// <summary>Whether every backend with weight is stable's (the Service shop, or subset version=stable).</summary>
    private static void AssertAllOnStable(SandboxEnvironment env)
    {
        var weighted = ShopFixture.Backends(env.Cluster, env.Mesh).Where(b => b.Weight > 0).ToList();
        Assert.NotEmpty(weighted);
        Assert.All(weighted, b =>
        {
            Assert.Equal(ShopFixture.Name, b.Service);
            if (b.SubsetLabels is { } labels) Assert.Equal("stable", labels.GetValueOrDefault("version"));
        });
    }

    [Fact]
    public async Task A_GitOps_sync_dropping_the_created_baseline_subset_pauses_naming_it_with_no_weight_on_it()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        // Argo CD's self-heal re-applies the DestinationRule from Git (stable and canary only) 3 minutes in.
        var fromGit = env.Cluster.Peek(ShopFixture.DestinationRule, ShopFixture.Namespace, ShopFixture.Name)!["spec"]!["subsets"]!.DeepClone();
        env.Cluster.ScheduleExternalRewrite(ShopFixture.DestinationRule, ShopFixture.Namespace, ShopFixture.Name, "/spec/subsets", fromGit, TimeSpan.FromMinutes(3));
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = BaselineDemoTests.SpecFor("istio") }, wait: true));

        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Drift, result.PauseReason);
        Assert.Contains("destinationrules.networking.istio.io/shop in namespace shop", result.Message);
        Assert.Contains("subset 'baseline'", result.Message);
        AssertAllOnStable(env);

        var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.Equal(RolloutPhase.Completed, resumed.Phase);
        Assert.Empty(ShopFixture.BaselineLeftovers(env.Cluster));
    }

    [Theory]
    [InlineData("linkerd")]
    [InlineData("smi")]
    [InlineData("nginx")]
    public async Task A_deleted_canary_Service_pauses_naming_it_and_sends_its_share_to_stable(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        env.Cluster.ScheduleExternalDelete(ResourceType.Service, ShopFixture.Namespace, ShopFixture.CanaryService, TimeSpan.FromMinutes(3));
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true));

        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Drift, result.PauseReason);
        Assert.Contains("services/shop-canary in namespace shop", result.Message);
        AssertAllOnStable(env);

        var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.Equal(RolloutPhase.Completed, resumed.Phase);
    }

    [Fact]
    public async Task A_removed_header_route_is_drift_even_under_reassert()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        // The VirtualService as in Git: the header route Kubestead prepended is gone, the weights are Kubestead's.
        var spec = SandboxDemoTests.SpecFor("istio").Replace("onInsufficientData: pause", "onInsufficientData: pause\n    onDrift: reassert");
        var writes = 0;
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (type != ShopFixture.VirtualService || obj is null || Interlocked.Increment(ref writes) != 3) return;
            var http = (JsonArray)obj["spec"]!["http"]!;
            var header = http.Select((r, i) => (r, i)).Single(x => x.r!["name"]?.GetValue<string>()?.StartsWith("kubestead-", StringComparison.Ordinal) == true).i;
            env.Cluster.ScheduleExternalRewrite(ShopFixture.VirtualService, ShopFixture.Namespace, ShopFixture.Name, "/spec/http",
                new JsonArray(http.Where((_, i) => i != header).Select(r => r!.DeepClone()).ToArray()), TimeSpan.FromSeconds(1));
        };
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Drift, result.PauseReason);
        Assert.Contains("header route 'kubestead-shop-", result.Message);
        var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.Equal(RolloutPhase.Completed, resumed.Phase);
    }
}
