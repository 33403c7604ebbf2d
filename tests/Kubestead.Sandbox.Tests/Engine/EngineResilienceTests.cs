using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

public class EngineResilienceTests
{
    private static readonly ResourceType Vs = ShopFixture.VirtualService;

    /// <summary>Traffic must never go to a canary whose Deployment is gone (or has no ready pod).</summary>
    private static void WatchInvariant(SandboxEnvironment env, List<string> violations)
    {
        env.Cluster.Changed += (_, _, _) =>
        {
            var state = ShopFixture.Reader(env.Cluster, env.Mesh)();
            var vs = env.Mesh == "istio" ? env.Cluster.Peek(Vs, ShopFixture.Namespace, ShopFixture.Name) : null;
            var routed = vs is null ? state.CanaryShare : Kubestead.Sandbox.Simulation.RouteShareReader.FromVirtualService(vs, d => d["subset"]?.GetValue<string>() == "canary");
            if (routed > 0 && env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary") is null)
                lock (violations) violations.Add($"canary weight {routed:P1} while Deployment shop-canary does not exist");
        };
    }

    [Theory]
    [InlineData("istio", false)]
    [InlineData("istio", true)]
    [InlineData("linkerd", false)]
    [InlineData("none", true)]
    [InlineData("smi", false)]
    public async Task A_driver_killed_inside_any_write_is_replaced_and_the_rollout_ends_the_same(string mesh, bool afterApply)
    {
        var total = (await DriverKills.WritesOfACleanRunAsync(mesh, SandboxDemoTests.SpecFor(mesh))).Count;
        Assert.True(total > 10, $"a clean {mesh} rollout made only {total} writes");
        for (var n = 1; n <= total; n++)
        {
            var env = SandboxEnvironment.Create(mesh, "healthy");
            var violations = new List<string>();
            WatchInvariant(env, violations);
            env.Cluster.FailWriteNumber(n, afterApply);
            await DriverKills.FirstDriverDiesAsync(env, SandboxDemoTests.SpecFor(mesh));
            await using var second = await DriverKills.SecondDriverAsync(env);
            var exists = env.Cluster.Peek(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop") is not null;
            var result = exists
                ? await Task.Run(() => second.WaitAsync(ShopFixture.Namespace, "shop", null))
                : await Task.Run(() => second.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true));
            Assert.True(RolloutPhase.Completed == result.Phase, $"{mesh}, killed at write {n} of {total} ({(afterApply ? "after" : "before")} it applied): ended {result.Phase} {result.PauseReason}: {result.Message}");
            Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
            Assert.Empty(violations);
        }
    }

    [Fact]
    public async Task A_second_driver_is_refused_while_the_lease_is_held_and_takes_over_after_expiry()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var alice = env.CreateService(NullRolloutObserver.Instance, "alice");
        await Task.Run(() => alice.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        // Alice's process holds the lease (as while driving) and then dies without releasing it.
        await RolloutLease.AcquireAsync(env.Cluster, env.Clock, ShopFixture.Namespace, "shop", new DriverIdentity("alice", "laptop", null, "1"), TimeSpan.FromSeconds(60));
        await using var bob = env.CreateService(NullRolloutObserver.Instance, "bob");
        var e = await Assert.ThrowsAsync<RolloutLockedException>(() => bob.SetWeightAsync(ShopFixture.Namespace, "shop", 5));
        Assert.Contains("alice@laptop", e.Message);
        Assert.Contains("expires at", e.Message);
        // Bob waits: once the lease expires he takes over and drives to the end.
        var result = await Task.Run(() => bob.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.Driver.StartsWith("bob@", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pause", RolloutPhase.Paused)]
    [InlineData("reassert", RolloutPhase.Completed)]
    public async Task An_external_reconciler_resetting_the_weights_is_detected_and_handled_per_policy(string policy, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        // Argo CD puts the weights from Git back 3 minutes into the rollout.
        env.Cluster.ScheduleExternalRewrite(Vs, ShopFixture.Namespace, ShopFixture.Name, "/spec/http/1/route/1/weight", JsonValue.Create(0), TimeSpan.FromMinutes(3));
        env.Cluster.ScheduleExternalRewrite(Vs, ShopFixture.Namespace, ShopFixture.Name, "/spec/http/1/route/0/weight", JsonValue.Create(100), TimeSpan.FromMinutes(3));
        var spec = SandboxDemoTests.SpecFor("istio").Replace("onInsufficientData: pause", $"onInsufficientData: pause\n    onDrift: {policy}");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(expected, result.Phase);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.Drift, result.PauseReason);
            Assert.Contains("/spec/http/1/route/1/weight is 0, Kubestead set 5", result.Message);
            // Resuming re-asserts Kubestead's weights and finishes the rollout.
            var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
            Assert.Equal(RolloutPhase.Completed, resumed.Phase);
        }
    }

    [Fact]
    public async Task An_invalid_spec_or_cluster_mismatch_writes_nothing()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var writes = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var bad = SandboxDemoTests.SpecFor("istio").Replace("deployment: shop", "deployment: shopp");
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => svc.StartAsync(new StartRequest { SpecYaml = bad }, wait: true));
        Assert.Contains("spec.stable.deployment: Deployment 'shopp' does not exist in namespace shop", e.Message);
        var wrongSubset = SandboxDemoTests.SpecFor("istio").Replace("route: primary", "route: main");
        var e2 = await Assert.ThrowsAsync<Kubestead.Traffic.TrafficRoutingException>(() => svc.StartAsync(new StartRequest { SpecYaml = wrongSubset }, wait: true));
        Assert.Contains("no route named 'main'", e2.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task Abort_from_another_process_stops_the_driver_and_returns_traffic_to_stable()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var driver = env.CreateService(NullRolloutObserver.Instance, "driver");
        await using var oncall = env.CreateService(NullRolloutObserver.Instance, "oncall");
        await Task.Run(() => driver.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var writes = env.Cluster.Writes.Count;
        var aborted = await oncall.AbortAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        var vs = env.Cluster.Peek(Vs, ShopFixture.Namespace, ShopFixture.Name)!;
        Assert.Equal(0, vs["spec"]!["http"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "primary")!["route"]![1]!["weight"]!.GetValue<int>());
        Assert.True(env.Cluster.Writes.Count - writes <= 8, $"abort took {env.Cluster.Writes.Count - writes} writes");
        // The canary is kept for scaleDownDelay, recorded; the driver that drives it next removes it and it stays aborted.
        Assert.True(aborted.CleanupPending);
        Assert.NotNull(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        var driven = await Task.Run(() => driver.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.Equal(RolloutPhase.Aborted, driven.Phase);
        Assert.False(driven.CleanupPending);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
    }
}
