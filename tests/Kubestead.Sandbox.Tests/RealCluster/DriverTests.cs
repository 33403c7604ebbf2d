using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Two processes and the Lease on the real server: one driver at a time, and a killed driver's rollout resumed.</summary>
public class DriverTests
{
    private const string LongPause = """
          steps:
            - setWeight: 20
            - pause: { duration: 24h }
            - setWeight: 60
        """;

    [RealClusterFact]
    public async Task A_second_driver_neither_starts_nor_drives_while_the_first_holds_the_lease()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("drivers");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        await using var pumped = new PumpedClock();
        var first = await env.ServiceAsync(pumped.Clock, driver: "ci-1", leaseDuration: TimeSpan.FromHours(1));
        using var kill = new CancellationTokenSource();
        var spec = new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, LongPause) };
        var driving = Task.Run(() => first.StartAsync(spec, wait: true, kill.Token));
        await RealRolloutEnvironment.WaitForAsync(first, env.Namespace, "reviews", r => r.CanaryWeight == 20 && r.StepIndex == 1);
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "reviews");

        var second = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(pumped.Clock.GetUtcNow()), driver: "ci-2");
        // A CI re-run of the same spec attaches (issue #19) rather than starting anew; while ci-1 holds the Lease it watches.
        var attached = await second.StartAsync(spec, wait: false);
        var watched = await second.WaitAsync(env.Namespace, "reviews", TimeSpan.FromMinutes(2));

        Assert.Equal(RolloutPhase.Progressing, attached.Phase);
        Assert.Equal(1, attached.StepIndex);
        Assert.Equal(RolloutPhase.Progressing, watched.Phase);
        Assert.Equal(1, watched.StepIndex);
        var lease = await env.GetAsync(ResourceType.Lease, "kubestead-reviews");
        Assert.Contains("ci-1", lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(vsBefore["metadata"]!["resourceVersion"]!.GetValue<string>(),
            (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["metadata"]!["resourceVersion"]!.GetValue<string>());
        await kill.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driving);
    }

    [RealClusterFact]
    public async Task A_driver_killed_mid_rollout_is_resumed_by_another_to_completion()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("resume");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        await using var pumped = new PumpedClock();
        var first = await env.ServiceAsync(pumped.Clock, driver: "ci-1", leaseDuration: TimeSpan.FromHours(1));
        using var kill = new CancellationTokenSource();
        var driving = Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, LongPause) }, wait: true, kill.Token));
        await RealRolloutEnvironment.WaitForAsync(first, env.Namespace, "reviews", r => r.CanaryWeight == 20 && r.StepIndex == 1);

        await kill.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driving);
        var left = await first.GetAsync(env.Namespace, "reviews");
        Assert.Equal(RolloutPhase.Progressing, left.Phase);

        // Another CI job, a day later by its clock (past the pause, and past any lease the killed one kept).
        var second = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(pumped.Clock.GetUtcNow() + TimeSpan.FromDays(1)), driver: "ci-2");
        var done = await second.WaitAsync(env.Namespace, "reviews", timeout: null);

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Contains(done.History, h => h.Driver.Contains("ci-1", StringComparison.Ordinal) && h.CanaryWeight == 20);
        Assert.Contains(done.History, h => h.Driver.Contains("ci-2", StringComparison.Ordinal) && h.CanaryWeight == 60);
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "reviews"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    /// <summary>Issue #26 item 9 on the real server: the state ConfigMap deleted mid-rollout; abort works from the Lease's spec copy.</summary>
    [RealClusterFact]
    public async Task Abort_after_the_state_configmap_was_deleted_mid_rollout_restores_the_route_and_removes_the_canary()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("lost-state");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var svc = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(), driver: "ci-1");
        await svc.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, LongPause) }, wait: false);
        Assert.Equal(20, (await svc.SetWeightAsync(env.Namespace, "reviews", 20)).CanaryWeight);
        await env.Admin.DeleteAsync(ResourceType.ConfigMap, env.Namespace, "kubestead-reviews");

        var aborted = await svc.AbortAsync(env.Namespace, "reviews", waitForCleanup: true);

        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.False(aborted.CleanupPending);
        var vs = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        Assert.Equal(vsBefore["spec"]!.ToJsonString(), vs["spec"]!.ToJsonString());
        Assert.Null(vs["metadata"]!["annotations"]?["kubestead.io/rollout"]);
        await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Deployment, "reviews-canary"));
    }

    /// <summary>
    /// Issue #26 item 9 on the real server without a mesh: the replica-ratio router reads stable itself, and a stable
    /// deleted mid-rollout pauses the rollout (StableMissing) with the canary's replicas unchanged; resume is refused
    /// until stable is back, then finishes the rollout.
    /// </summary>
    [RealClusterFact]
    public async Task Without_a_mesh_a_stable_deleted_mid_rollout_pauses_with_the_canary_unscaled_until_it_is_restored()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("lost-stable");
        await env.SeedAsync(MeshFixtures.NoMeshObjects());
        var svc = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(), driver: "ci-1");
        await svc.StartAsync(new StartRequest { SpecYaml = MeshFixtures.NoMeshSpec(env.Namespace) }, wait: false);
        Assert.Equal(10, (await svc.SetWeightAsync(env.Namespace, "api", 10)).CanaryWeight);
        var canaryBefore = await env.GetAsync(ResourceType.Deployment, "api-canary");
        await env.Admin.DeleteAsync(ResourceType.Deployment, env.Namespace, "api");

        var paused = await svc.WaitAsync(env.Namespace, "api", timeout: null);

        Assert.True(paused is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.StableMissing }, $"{paused.Phase} {paused.PauseReason}: {paused.Message}");
        Assert.Contains("Deployment api", paused.Message);
        var canaryAfter = await env.GetAsync(ResourceType.Deployment, "api-canary");
        Assert.Equal(canaryBefore["spec"]!["replicas"]!.GetValue<int>(), canaryAfter["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(canaryBefore["metadata"]!["resourceVersion"]!.GetValue<string>(), canaryAfter["metadata"]!["resourceVersion"]!.GetValue<string>());
        var refused = await Assert.ThrowsAnyAsync<KubesteadException>(() => svc.ResumeAsync(env.Namespace, "api", wait: true));
        Assert.Contains("spec.stable.deployment", refused.Message);
        Assert.Equal(canaryBefore["metadata"]!["resourceVersion"]!.GetValue<string>(),
            (await env.GetAsync(ResourceType.Deployment, "api-canary"))["metadata"]!["resourceVersion"]!.GetValue<string>());

        // kubectl apply of stable's manifest again; then resume finishes the rollout.
        await env.SeedAsync((ResourceType.Deployment, MeshFixtures.NoMeshObjects()[0].Item2));
        var done = await svc.ResumeAsync(env.Namespace, "api", wait: true);
        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase} {done.PauseReason}: {done.Message}");
    }

    /// <summary>
    /// Issue #26 "done when" on the real server: a driver whose clock runs 3 minutes ahead sees the live holder's renewTime
    /// as long past, yet does not take the Lease while it is renewed; once renewals stop it takes it after a whole
    /// duration by its own clock. The clocks are virtual, the Lease's reads and writes real.
    /// </summary>
    [RealClusterFact]
    public async Task A_clock_skewed_second_driver_does_not_take_a_live_lease()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("skew");
        var aliceClock = new VirtualClock(DateTimeOffset.UtcNow);
        var bobClock = new VirtualClock(aliceClock.GetUtcNow() + TimeSpan.FromMinutes(3));
        var seenByBob = new LeaseObservations();
        var duration = TimeSpan.FromSeconds(60);
        var alice = await RolloutLease.AcquireAsync(env.Admin, aliceClock, env.Namespace, "shop", new DriverIdentity("alice", "host1", null, "1"), duration);
        Task<RolloutLease> BobTries() =>
            RolloutLease.AcquireAsync(env.Admin, bobClock, env.Namespace, "shop", new DriverIdentity("bob", "host2", null, "2"), duration, observed: seenByBob);

        for (var i = 0; i < 6; i++)
        {
            var refused = await Assert.ThrowsAsync<RolloutLockedException>(BobTries);
            Assert.True(refused.HolderStoppedRenewing, "by bob's clock alice's renewTime is minutes old");
            aliceClock.Advance(TimeSpan.FromSeconds(25));
            bobClock.Advance(TimeSpan.FromSeconds(25));
            await alice.RenewIfDueAsync();
        }
        Assert.StartsWith("alice@", (await env.GetAsync(ResourceType.Lease, "kubestead-shop"))["spec"]!["holderIdentity"]!.GetValue<string>());

        // Alice stops renewing: bob first sees her last renewal now, and takes the Lease only a whole duration later.
        await Assert.ThrowsAsync<RolloutLockedException>(BobTries);
        bobClock.Advance(TimeSpan.FromSeconds(59));
        await Assert.ThrowsAsync<RolloutLockedException>(BobTries);
        bobClock.Advance(TimeSpan.FromSeconds(2));
        Assert.StartsWith("bob@", (await BobTries()).Holder);
    }

    /// <summary>
    /// Issue #26 item 11 on the real server: `validate --cluster` refuses a spec whose metric uses the simulated provider,
    /// which only a sandbox serves, naming the metric, instead of passing it to fail at the first window.
    /// </summary>
    [RealClusterFact]
    public async Task Validate_against_a_real_cluster_refuses_the_simulated_metrics_provider()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("validate-sim");
        await env.SeedAsync(MeshFixtures.NoMeshObjects());
        var svc = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = MeshFixtures.NoMeshSpec(env.Namespace) + "\n" + """
              analysis:
                interval: 1m
                metrics:
                  - name: error-rate
                    provider: { simulated: {} }
                    judge: { sequential: {} }
            """;

        var report = await svc.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);

        Assert.False(report.IsValid);
        Assert.Contains(report.Checks, c => c.Outcome == CheckOutcome.Failed && c.Target == "spec.analysis.metrics[0].provider.simulated"
                                           && c.Message.Contains("metric 'error-rate' uses the simulated provider", StringComparison.Ordinal));
    }
}
