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
        // Asked to wait, the abort itself removes the canary once scaleDownDelay has passed: here it cannot.
        await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true)));
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

    private static readonly TimeSpan Delay = TimeSpan.FromMinutes(10); // the spec's scaleDownDelay

    /// <summary>Nothing pending and nothing of the rollout's left but its record: no canary, no Lease.</summary>
    private static void AssertAbortedAndCleanedUp(SandboxEnvironment env, RolloutResult result)
    {
        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.False(result.CleanupPending);
        Assert.False(CanaryExists(env));
        Assert.Null(env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop"));
    }

    private static bool CanaryExists(SandboxEnvironment env) => env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary") is not null;

    [Fact]
    public async Task Abort_returns_at_once_with_traffic_on_stable_and_the_canary_kept_until_the_next_comer_after_the_delay()
    {
        var env = await RunningAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var before = env.Clock.GetUtcNow();
        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        // The sandbox clock moves only when someone waits: an abort that waited scaleDownDelay moved it 10 minutes.
        Assert.True(env.Clock.GetUtcNow() - before < TimeSpan.FromMinutes(1), $"abort waited {env.Clock.GetUtcNow() - before}");
        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.Equal(0, CanaryShare(env));
        Assert.True(aborted.CleanupPending);
        Assert.InRange(aborted.CanaryRemovalDueAt!.Value, before + Delay, env.Clock.GetUtcNow() + Delay);
        Assert.True(CanaryExists(env), "the canary was removed before scaleDownDelay ended");
        Assert.True((await ops.GetAsync(ShopFixture.Namespace, "shop")).CleanupPending);

        // Another abort before the due time neither waits nor removes it.
        var again = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        Assert.True(env.Clock.GetUtcNow() - before < TimeSpan.FromMinutes(1), $"the second abort waited {env.Clock.GetUtcNow() - before}");
        Assert.True(again.CleanupPending && CanaryExists(env));

        // After the delay, the next comer (an abort here) removes the canary and the Lease, and nothing is pending.
        await Task.Delay(Delay, env.Clock);
        AssertAbortedAndCleanedUp(env, await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop")));
    }

    [Fact]
    public async Task Abort_asked_to_wait_removes_the_canary_itself_once_the_delay_has_passed()
    {
        var env = await RunningAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var before = env.Clock.GetUtcNow();
        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true));
        Assert.True(env.Clock.GetUtcNow() - before >= Delay, $"the canary went after {env.Clock.GetUtcNow() - before}");
        AssertAbortedAndCleanedUp(env, aborted);
    }

    [Fact]
    public async Task The_controllers_drive_finishes_a_pending_clean_up_when_the_delay_ends()
    {
        var env = await RunningAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        Assert.True(aborted.CleanupPending && CanaryExists(env));
        await using var controller = env.CreateService(NullRolloutObserver.Instance, "controller-0");
        // The controller's reconcile is the engine's drive of a free rollout (RolloutController.DriveIfFreeAsync).
        var driven = RolloutResultBuilder.From(await Task.Run(() => controller.Driver.DriveAsync(new DriveRequest(ShopFixture.Namespace, "shop"), default)));
        Assert.Equal(RolloutPhase.Aborted, driven.Phase);
        Assert.False(driven.CleanupPending);
        Assert.True(env.Clock.GetUtcNow() >= aborted.CanaryRemovalDueAt, "the canary went before its due time");
        Assert.False(CanaryExists(env));
    }

    [Fact]
    public async Task Finishing_a_pending_clean_up_interrupted_at_any_write_is_finished_by_the_next_abort()
    {
        // The writes of the next comer that finishes a clean-up left pending, so a failure can be placed inside each.
        static async Task<SandboxEnvironment> PendingPastDueAsync()
        {
            var env = await RunningAsync();
            await using (var ops = env.CreateService(NullRolloutObserver.Instance, "ops"))
                Assert.True((await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"))).CleanupPending);
            await Task.Delay(Delay, env.Clock);
            return env;
        }
        var clean = await PendingPastDueAsync();
        var writesBefore = clean.Cluster.Writes.Count;
        await using (var ops = clean.CreateService(NullRolloutObserver.Instance, "next"))
            Assert.False((await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"))).CleanupPending);
        var finishWrites = clean.Cluster.Writes.Count - writesBefore;
        Assert.True(finishWrites >= 2, $"finishing made only {finishWrites} writes: {string.Join("; ", clean.Cluster.Writes.Skip(writesBefore))}");

        await AbortInterruptions.EachWriteAsync(PendingPastDueAsync, finishWrites, waitForCleanup: false, (env, n, result) =>
        {
            Assert.True(result.Phase == RolloutPhase.Aborted && !result.CleanupPending, $"interrupted at write {n} of {finishWrites}: {result.Phase}, pending {result.CleanupPending}");
            Assert.False(CanaryExists(env), $"interrupted at write {n} of {finishWrites}: the canary is left");
            Assert.Equal(0, CanaryShare(env));
        });
    }

    [Fact]
    public async Task A_start_inside_scaleDownDelay_after_an_abort_that_did_not_wait_plans_then_waits_out_the_delay_and_starts()
    {
        var env = await RunningAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        Assert.True(aborted.CleanupPending && CanaryExists(env));
        var due = aborted.CanaryRemovalDueAt!.Value;

        // Start-KubesteadRollout plans before it starts: the plan says it finishes the clean-up first (until when), and writes nothing.
        var request = new StartRequest { SpecYaml = Spec("registry.example.com/shop:2.0.1") };
        var writes = env.Cluster.Writes.Count;
        var plan = await Task.Run(() => ops.PlanAsync(new StartOperation(request)));
        Assert.Equal(writes, env.Cluster.Writes.Count);
        Assert.Contains(plan, c => c.Verb == "cleanup" && c.Description.Contains($"{due:u}", StringComparison.Ordinal));
        Assert.Contains(plan, c => c.Verb == "start");

        var observer = new RecordingObserver();
        await using var next = env.CreateService(observer, "next");
        var started = await Task.Run(() => next.StartAsync(request, wait: false));
        Assert.True(started.Phase == RolloutPhase.Progressing, $"{started.Phase}: {started.Message}");
        Assert.True(env.Clock.GetUtcNow() >= due, "the old canary went before scaleDownDelay ended");
        // It said that it waits, and until when.
        Assert.Contains(observer.Events, e => e.Message.Contains("finishing it first", StringComparison.Ordinal) && e.Message.Contains($"{due:u}", StringComparison.Ordinal));
        var canary = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary")!;
        Assert.Equal("registry.example.com/shop:2.0.1", canary["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}
