using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>A created baseline is part of start's all-or-nothing unit and of abort (issue #13 item 5).</summary>
public class BaselineStartTransactionTests
{
    private const string Ns = ShopFixture.Namespace;
    private static string SpecFor(string mesh) => BaselineDemoTests.SpecFor(mesh);

    [Theory]
    [InlineData("linkerd", false)]
    [InlineData("linkerd", true)]
    [InlineData("istio", false)]
    [InlineData("istio", true)]
    [InlineData("smi", false)]
    [InlineData("smi", true)]
    [InlineData("none", false)]
    [InlineData("none", true)]
    public async Task A_start_with_a_baseline_failing_at_any_of_its_writes_leaves_nothing(string mesh, bool afterApply)
    {
        var Spec = SpecFor(mesh);
        var cleanEnv = SandboxEnvironment.Create(mesh, "healthy");
        var first = cleanEnv.Cluster.Writes.Count;
        await using (var svc = cleanEnv.CreateService(NullRolloutObserver.Instance))
            Assert.Equal(RolloutPhase.Progressing, (await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec }, wait: false))).Phase);
        var clean = cleanEnv.Cluster.Writes.Skip(first).ToList();
        Assert.Contains(clean, w => w.Contains("shop-baseline", StringComparison.Ordinal) || w.Contains("deployments", StringComparison.Ordinal));
        Assert.NotNull(cleanEnv.Cluster.Peek(ResourceType.Deployment, Ns, ShopFixture.BaselineDeployment));
        if (mesh is "linkerd" or "smi") Assert.NotNull(cleanEnv.Cluster.Peek(ResourceType.Service, Ns, ShopFixture.BaselineService));

        for (var n = 1; n < clean.Count; n++)
        {
            var env = SandboxEnvironment.Create(mesh, "healthy");
            var before = StartTransactionTests.Snapshot(env.Cluster);
            env.Cluster.FailWriteNumber(n, afterApply);
            await using var svc = env.CreateService(NullRolloutObserver.Instance);
            var context = $"write {n} ({clean[n - 1]}) failed {(afterApply ? "after" : "before")} applying";
            try
            {
                await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec }, wait: false));
                Assert.True(afterApply && n == 1, $"{context}: the start succeeded");
                await svc.AbortAsync(Ns, "shop", waitForCleanup: true);
                var afterAbort = StartTransactionTests.Snapshot(env.Cluster);
                afterAbort.Remove("configmaps/kubestead-shop");
                Assert.Equal(before, afterAbort);
                continue;
            }
            catch (StartUndoneException e)
            {
                Assert.True(e.Message.Contains("start undone, nothing left behind", StringComparison.Ordinal), $"{context}: {e.Message}");
                Assert.Empty(e.Leftovers);
            }
            var after = StartTransactionTests.Snapshot(env.Cluster);
            Assert.True(before.SequenceEqual(after), $"{context}: left [{string.Join(", ", after.Keys.Except(before.Keys))}], changed [{string.Join(", ", before.Keys.Where(k => after.TryGetValue(k, out var v) && v != before[k]))}]");
        }
    }

    [Theory]
    [InlineData("linkerd", 10)]
    [InlineData("istio", 10)]
    [InlineData("smi", 10)]
    [InlineData("none", 20)]
    public async Task Abort_removes_the_baseline_with_the_canary_and_returns_the_route_to_stable(string mesh, int first)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var before = StartTransactionTests.Snapshot(env.Cluster);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var started = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SpecFor(mesh).Replace($"    - setWeight: {first}\n", $"    - setWeight: {first}\n    - pause: {{}}\n", StringComparison.Ordinal) }, wait: true));
        Assert.Equal(RolloutPhase.Paused, started.Phase);
        Assert.Equal(first, started.BaselineWeight);
        Assert.Equal(100 - 2 * first, started.StableWeight);
        var baseline = env.Cluster.Peek(ResourceType.Deployment, Ns, ShopFixture.BaselineDeployment)!;
        Assert.Equal(env.Cluster.Peek(ResourceType.Deployment, Ns, "shop-canary")!["spec"]!["replicas"]!.GetValue<int>(), baseline["spec"]!["replicas"]!.GetValue<int>());

        var aborted = await svc.AbortAsync(Ns, "shop", waitForCleanup: true);

        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, Ns, ShopFixture.BaselineDeployment));
        Assert.Null(env.Cluster.Peek(ResourceType.Service, Ns, ShopFixture.BaselineService));
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, Ns, "shop-canary"));
        Assert.Empty(ShopFixture.BaselineLeftovers(env.Cluster));
        // Everything the user had is as it was (the rollout's record and Lease aside).
        var after = StartTransactionTests.Snapshot(env.Cluster);
        foreach (var key in after.Keys.Where(k => k.StartsWith("configmaps/kubestead-", StringComparison.Ordinal) || k.StartsWith("leases.", StringComparison.Ordinal)).ToList()) after.Remove(key);
        foreach (var key in before.Keys.Where(k => k.StartsWith("leases.", StringComparison.Ordinal)).ToList()) before.Remove(key);
        Assert.Equal(before, after);
    }
}
