using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #26 item 8: an interrupted abort (or --replace) does not block later commands: status says the clean-up is
/// pending, and the next start, --replace or resume finishes it itself, waiting only what is left of scaleDownDelay.
/// </summary>
public class PendingCleanupTests
{
    private static string Spec(string image = "registry.example.com/shop:2.0.0") =>
        SandboxDemoTests.SpecFor("istio").Replace("\nspec:\n", "\nspec:\n  scaleDownDelay: 10m\n", StringComparison.Ordinal)
            .Replace("registry.example.com/shop:2.0.0", image, StringComparison.Ordinal);

    private static double CanaryShare(SandboxEnvironment env) => ShopFixture.Reader(env.Cluster, env.Mesh)().CanaryShare;

    /// <summary>A started rollout with traffic on its canary and nobody driving it.</summary>
    private static async Task<SandboxEnvironment> RunningAsync()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var first = env.CreateService(NullRolloutObserver.Instance, "first");
        await Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = Spec() }, wait: false));
        var weight = await Task.Run(() => first.SetWeightAsync(ShopFixture.Namespace, "shop", 20));
        Assert.True(weight.CanaryWeight > 0 && CanaryShare(env) > 0, $"canary at {weight.CanaryWeight}%");
        return env;
    }

    [Fact]
    public async Task Status_says_clean_up_pending_after_an_interrupted_abort_and_resume_finishes_it()
    {
        var env = await RunningAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        env.Cluster.InjectFault("DELETE", "deployments", "shop-canary");
        await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop")));
        Assert.Equal(0, CanaryShare(env));

        var status = await ops.GetAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(RolloutPhase.Aborted, status.Phase);
        Assert.True(status.CleanupPending);
        Assert.NotNull(status.CanaryRemovalDueAt);

        var resumed = await Task.Run(() => ops.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.Equal(RolloutPhase.Aborted, resumed.Phase);
        Assert.False(resumed.CleanupPending);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
    }

    [Fact]
    public async Task An_abort_interrupted_at_any_write_does_not_block_the_next_start()
    {
        // The writes of an uninterrupted abort, so a failure can be placed inside each.
        var clean = await RunningAsync();
        var writesBefore = clean.Cluster.Writes.Count;
        await using (var ops = clean.CreateService(NullRolloutObserver.Instance, "ops"))
            await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        var abortWrites = clean.Cluster.Writes.Count - writesBefore;
        Assert.True(abortWrites >= 3, $"an abort made only {abortWrites} writes");

        for (var n = 1; n <= abortWrites; n++)
        {
            var env = await RunningAsync();
            env.Cluster.FailWriteNumber(n, afterApply: false);
            await using (var ops = env.CreateService(NullRolloutObserver.Instance, "ops"))
            {
                try
                {
                    await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
                }
                catch (Exception e) when (e is KubernetesApiException or KubesteadException)
                {
                    // the abort was interrupted at write n
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(61), env.Clock); // the first driver's Lease, if a write failed under it, lapses
            await using var next = env.CreateService(NullRolloutObserver.Instance, "next");
            // --replace: an abort interrupted before it recorded anything leaves the old version Progressing.
            var result = await Task.Run(() => next.StartAsync(new StartRequest { SpecYaml = Spec("registry.example.com/shop:2.0.1"), Replace = true }, wait: true));
            Assert.True(result.Phase == RolloutPhase.Completed, $"abort interrupted at write {n} of {abortWrites}: next start ended {result.Phase}: {result.Message}");
            Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        }
    }
}
