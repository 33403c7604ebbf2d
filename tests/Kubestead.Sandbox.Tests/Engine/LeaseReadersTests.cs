using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #26 items 4 and 5 beyond the drive: nothing that acts on a Lease judges another driver's liveness from the
/// renewTime that driver's (possibly skewed) clock wrote, and the hand-set weight writes only under its Lease.
/// </summary>
public class LeaseReadersTests
{
    [Fact]
    public async Task The_clean_up_after_an_abort_leaves_a_lease_another_driver_holds_even_when_its_renewTime_looks_old_by_the_local_clock()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        await Task.Run(() => ops.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        // Bob drives it from a machine whose clock is 5 minutes behind: by the local clock his renewTime is long past.
        var bobClock = new VirtualClock(env.Clock.GetUtcNow() - TimeSpan.FromMinutes(5));
        var bob = await RolloutLease.AcquireAsync(env.Cluster, bobClock, ShopFixture.Namespace, "shop", new DriverIdentity("bob", "skewed", null, "7"), TimeSpan.FromSeconds(60));

        Assert.True((await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"))).CleanupPending);
        await Task.Delay(TimeSpan.FromSeconds(31), env.Clock); // the default scaleDownDelay
        var plan = await Task.Run(() => ops.PlanAsync(new AbortOperation(ShopFixture.Namespace, "shop")));
        Assert.DoesNotContain(plan, c => c.Target.StartsWith("leases", StringComparison.Ordinal));
        var done = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop"));
        Assert.False(done.CleanupPending);

        var lease = env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop");
        Assert.NotNull(lease);
        Assert.Equal(bob.Holder, lease!["spec"]!["holderIdentity"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_hand_set_weight_whose_lease_another_driver_took_during_the_readiness_wait_writes_no_route()
    {
        // Pods take 2 minutes: the weight's readiness wait outlasts the 60 s Lease, and bob takes it over meanwhile.
        var env = SandboxEnvironment.Create("istio", "healthy", podReadyDelay: TimeSpan.FromMinutes(2));
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        await Task.Run(() => ops.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var routeBefore = env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!["spec"]!.ToJsonString();
        var taken = false;
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (taken || type != ResourceType.Deployment || obj?["metadata"]?["name"]?.GetValue<string>() != "shop-canary") return;
            taken = true;
            env.Cluster.PatchAsync(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop", new JsonPatch([
                JsonPatchOperation.Replace("/spec/holderIdentity", "bob@elsewhere"),
            ])).GetAwaiter().GetResult();
        };

        var lost = await Assert.ThrowsAsync<RolloutLeaseLostException>(() => Task.Run(() => ops.SetWeightAsync(ShopFixture.Namespace, "shop", 20)));
        Assert.True(taken, "the canary was never scaled, so the Lease was never taken");
        Assert.Contains("bob@elsewhere", lost.Message);
        Assert.Equal(routeBefore, env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!["spec"]!.ToJsonString());
        Assert.Equal(0, (await ops.GetAsync(ShopFixture.Namespace, "shop")).CanaryWeight);
    }

    [Fact]
    public async Task A_driver_cancelled_after_stalling_past_its_Lease_writes_no_note_into_a_rollout_another_driver_took()
    {
        // A controller replica stopped (SIGSTOP) past its Lease while bob took the rollout over; when it is woken and told to
        // drain, its note of where it stopped must not land in bob's rollout (a real-server fleet run once caught
        // "'cancelled' written by controller@r1 while it did not hold the Lease").
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        await Task.Run(() => ops.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var lease = await Task.Run(() => ops.Driver.AcquireLeaseAsync(ShopFixture.Namespace, "shop", CancellationToken.None));
        await Task.Delay(lease.Duration + TimeSpan.FromSeconds(1), env.Clock); // the stall
        await env.Cluster.PatchAsync(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop", new JsonPatch([
            JsonPatchOperation.Replace("/spec/holderIdentity", "bob@elsewhere"),
        ]));
        var before = await new RolloutStateStore(env.Cluster).LoadAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(RolloutPhase.Progressing, before.Status.Phase);

        using var drain = new CancellationTokenSource();
        await drain.CancelAsync();
        await Task.Run(() => ops.Driver.ReleaseLeaseAsync(lease, drain.Token));

        var after = await new RolloutStateStore(env.Cluster).LoadAsync(ShopFixture.Namespace, "shop");
        Assert.DoesNotContain(after.Status.History, h => h.Kind == "cancelled");
        Assert.Equal(before.Status.History.Count, after.Status.History.Count);
        Assert.Equal("bob@elsewhere", env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop")!["spec"]!["holderIdentity"]!.GetValue<string>());
    }
}
