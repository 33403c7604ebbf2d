using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// `kubestead controller` replicas on the emulated cluster: many rollouts in several namespaces, shared through their
/// Leases without a leader, surviving a dead, a stalled and a draining replica.
/// </summary>
public class ControllerTests
{
    private static readonly TimeSpan Plenty = TimeSpan.FromMinutes(20);

    private static async Task HandOverManyAsync(ControllerFleet fleet, int count)
    {
        for (var i = 0; i < count; i++) await fleet.HandOverAsync($"team-{i % 3}", $"app-{i}");
    }

    private static void AssertEndedAsWithOneDriver(ControllerFleet fleet)
    {
        foreach (var key in fleet.Rollouts)
        {
            var state = fleet.State(key);
            Assert.Equal(RolloutPhase.Completed, state.Status.Phase);
            // Every step ran once: one "setWeight" to 50 and one promotion, whoever drove which part.
            Assert.Single(state.Status.History, h => h.Kind == "setWeight");
            Assert.Single(state.Status.History, h => h.Kind == "complete");
            Assert.All(state.Status.History.Where(h => h.Kind is "setWeight" or "step" or "complete"),
                h => Assert.StartsWith("controller@", h.Driver, StringComparison.Ordinal));
            // Nothing left behind: the canary Deployment is gone and nobody holds the Lease.
            Assert.Null(fleet.Cluster.Peek(ResourceType.Deployment, key.Namespace, key.Name + "-canary"));
            Assert.True(string.IsNullOrEmpty(fleet.LeaseHolder(key)), $"{key}: Lease still held by {fleet.LeaseHolder(key)}");
        }
    }

    [Fact]
    public async Task Replicas_drive_every_handed_rollout_to_its_end_each_taking_at_most_its_fair_share()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        var b = await fleet.StartReplicaAsync("b");
        await HandOverManyAsync(fleet, 6);

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "every rollout completed");

        AssertEndedAsWithOneDriver(fleet);
        // Two live replicas, six rollouts: three each at most, and both had work.
        Assert.InRange(a.MostDrivenAtOnce, 1, 3);
        Assert.InRange(b.MostDrivenAtOnce, 1, 3);
    }

    [Fact]
    public async Task A_rollout_not_handed_to_controllers_is_left_alone()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await fleet.HandOverAsync("team-0", "app-0");
        // Recorded by CI but not handed over: CI's own driver may only be restarting.
        await fleet.HandOverAsync("team-1", "app-1", toControllers: false);

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "the handed rollout completed");

        var untouched = fleet.State(new RolloutKey("team-1", "app-1"));
        Assert.Equal(RolloutPhase.Progressing, untouched.Status.Phase);
        Assert.DoesNotContain(untouched.Status.History, h => h.Driver.StartsWith("controller@", StringComparison.Ordinal));
        Assert.DoesNotContain(a.Events, e => e.Rollout is { Name: "app-1" });
    }

    [Fact]
    public async Task A_dead_replicas_rollouts_are_driven_again_within_the_Lease_duration()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        var b = await fleet.StartReplicaAsync("b");
        await HandOverManyAsync(fleet, 4);
        await fleet.AdvanceUntilAsync(() => a.Controller.Driving.Count > 0 && fleet.Rollouts.All(k => fleet.State(k).Status.StepIndex >= 1), Plenty, "replica a drives");

        var orphans = a.Controller.Driving;
        a.Api.Freeze(); // kill -9: a never speaks again
        // b judges a Lease's expiry from when it saw the Lease last change (client-go's rule), and a loaded machine can
        // let the virtual clock run seconds ahead of b's watch: the bound starts once b has seen a's last writes.
        await fleet.WaitWithClockStoppedAsync(() => orphans.All(k => b.Controller.HasSeenLease(k, fleet.LeaseVersion(k))), "b saw a's last Lease writes");
        var died = fleet.Clock.GetUtcNow();
        // Time moves to the Lease duration plus the second the controller waits past expiry, and stops there: b must
        // take every orphan with no more virtual time, however slowly this machine lets it act (a loaded CI host once
        // let the clock run 10 s past the bound while b was still writing).
        var takeoverDue = died + ControllerFleet.LeaseDuration + TimeSpan.FromSeconds(1);
        await fleet.AdvanceUntilAsync(() => fleet.Clock.GetUtcNow() >= takeoverDue, Plenty, "the Lease duration passed");
        await fleet.WaitWithClockStoppedAsync(() => orphans.All(k => fleet.LeaseHolder(k) == b.Holder), "b took a's rollouts");
        Assert.Equal(takeoverDue, fleet.Clock.GetUtcNow());

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "every rollout completed");
        AssertEndedAsWithOneDriver(fleet);
    }

    [Fact]
    public async Task A_replica_over_its_share_takes_a_dead_replicas_rollouts_when_its_heartbeat_expires_not_at_the_next_share_recheck()
    {
        // Heartbeats outlasting the rollouts' Leases: when a's Leases expire, a still counts as live, so b is over its
        // share. The recheck is long, so only a look at a's heartbeat expiry lets b take a's rollouts in time.
        var heartbeat = ControllerFleet.LeaseDuration + TimeSpan.FromSeconds(30);
        var recheck = TimeSpan.FromMinutes(10);
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a", heartbeat: heartbeat, shareRecheck: recheck);
        var b = await fleet.StartReplicaAsync("b", heartbeat: heartbeat, shareRecheck: recheck);
        await HandOverManyAsync(fleet, 4);
        await fleet.AdvanceUntilAsync(() => a.Controller.Driving.Count > 0 && b.Controller.Driving.Count > 0
                                            && fleet.Rollouts.All(k => fleet.State(k).Status.StepIndex >= 1), Plenty, "both replicas drive");

        var orphans = a.Controller.Driving;
        a.Api.Freeze(); // kill -9
        var died = fleet.Clock.GetUtcNow();
        await fleet.AdvanceUntilAsync(() => orphans.All(k => fleet.LeaseHolder(k) == b.Holder), Plenty, "b took a's rollouts");
        // a's heartbeat expires within its duration of the kill; b looks a second after that (plus a step of this test's clock).
        Assert.InRange(fleet.Clock.GetUtcNow() - died, TimeSpan.Zero, heartbeat + TimeSpan.FromSeconds(3));
        Assert.Contains(b.Events, e => e.Kind == ControllerEventKind.OverShare);

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "every rollout completed");
        AssertEndedAsWithOneDriver(fleet);
    }

    [Fact]
    public async Task A_stalled_replica_writes_nothing_after_its_Lease_was_taken()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        var b = await fleet.StartReplicaAsync("b");
        await HandOverManyAsync(fleet, 4);
        await fleet.AdvanceUntilAsync(() => a.Controller.Driving.Count > 0 && fleet.Rollouts.All(k => fleet.State(k).Status.StepIndex >= 1), Plenty, "replica a drives");

        var lost = a.Controller.Driving;
        a.Api.Freeze(); // SIGSTOP
        await fleet.AdvanceUntilAsync(() => lost.All(k => fleet.LeaseHolder(k) == b.Holder), Plenty, "b took a's rollouts");
        var takenAt = fleet.Clock.GetUtcNow();
        int writesBeforeThaw;
        lock (a.Api.Writes) writesBeforeThaw = a.Api.Writes.Count;
        a.Api.Thaw(); // SIGCONT, long after a's Leases expired

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "every rollout completed");
        AssertEndedAsWithOneDriver(fleet);
        // Once back, a may take one of them again fairly (b, holding all of them, is over its share; a rollout it leaves
        // free goes to whoever looks first): a's writes after it drives that rollout again are its own. Before that, none.
        var events = a.Events;
        DateTimeOffset RetakenAt(RolloutKey k) =>
            events.FirstOrDefault(e => e.Kind == ControllerEventKind.Driving && e.Rollout == k && e.At >= takenAt)?.At ?? DateTimeOffset.MaxValue;
        List<string> late;
        lock (a.Api.Writes)
            late = a.Api.Writes.Skip(writesBeforeThaw)
                .Where(w => lost.Any(k => Targets(w.Write, k) && w.At < RetakenAt(k)))
                .Select(w => $"{w.At:HH:mm:ss} {w.Write}").ToList();
        Assert.True(late.Count == 0, $"a wrote to rollouts it had lost (taken at {takenAt:HH:mm:ss}): {string.Join(", ", late)}; a's events: " +
            string.Join("; ", events.Where(e => e.Rollout is { } r && lost.Contains(r)).Select(e => $"{e.At:HH:mm:ss} {e.Kind} {e.Rollout}")));
        Assert.Contains(a.Events, e => e.Kind == ControllerEventKind.LeaseLost);
    }

    /// <summary>Whether a recorded write touches <paramref name="k"/>'s workload objects (its own name, or the canary named after it).</summary>
    private static bool Targets(string write, RolloutKey k) => write.Contains($" {k.Namespace}/{k.Name}", StringComparison.Ordinal);

    [Fact]
    public async Task A_draining_replica_releases_every_Lease_so_another_goes_on_at_once()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        var b = await fleet.StartReplicaAsync("b");
        await HandOverManyAsync(fleet, 4);
        await fleet.AdvanceUntilAsync(() => a.Controller.Driving.Count > 0 && fleet.Rollouts.All(k => fleet.State(k).Status.StepIndex >= 1), Plenty, "replica a drives");

        var handed = a.Controller.Driving;
        await a.Stop.CancelAsync(); // SIGTERM
        await a.Run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(handed, k => Assert.NotEqual(a.Holder, fleet.LeaseHolder(k)));
        Assert.Contains(a.Events, e => e.Kind == ControllerEventKind.Drained);
        // a's heartbeat is gone, so b's fair share is every rollout; it takes them well before a Lease could expire.
        await fleet.AdvanceUntilAsync(() => handed.All(k => fleet.LeaseHolder(k) == b.Holder), TimeSpan.FromSeconds(20), "b took a's rollouts at once");

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "every rollout completed");
        AssertEndedAsWithOneDriver(fleet);
    }

    [Fact]
    public async Task A_failing_rollout_does_not_stall_the_others()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        var broken = new RolloutKey("team-0", "broken");
        await fleet.HandOverAsync(broken.Namespace, broken.Name, toControllers: false);
        // Its stored spec no longer parses: every drive of it fails at once.
        var cm = fleet.Cluster.Peek(ResourceType.ConfigMap, broken.Namespace, RolloutStateStore.ObjectName(broken.Name))!.DeepClone().AsObject();
        cm["data"]![RolloutStateStore.SpecKey] = "spec: [not a rollout";
        await fleet.Cluster.ReplaceAsync(ResourceType.ConfigMap, broken.Namespace, RolloutStateStore.ObjectName(broken.Name), cm);
        await ControllerHandoff.HandOverAsync(fleet.Cluster, broken.Namespace, broken.Name);
        await HandOverManyAsync(fleet, 3);

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "the other rollouts completed");
        AssertEndedAsWithOneDriver(fleet);
        var failures = a.Events.Where(e => e.Kind == ControllerEventKind.Failed && e.Rollout == broken).ToList();
        Assert.NotEmpty(failures);
        // Backed off: a handful of attempts over the run, not one per event or per second.
        Assert.InRange(failures.Count, 1, 10);
    }

    [Fact]
    public async Task Start_detach_is_refused_when_no_controller_is_live_and_writes_nothing()
    {
        await using var fleet = new ControllerFleet();
        fleet.SeedApp("team-0", "app-0");
        var writes = fleet.Cluster.Writes.Count;
        await using var ci = fleet.CiService();

        var e = await Assert.ThrowsAsync<NoLiveControllerException>(() => Task.Run(() => ci.StartAsync(
            new StartRequest { SpecYaml = ControllerFleet.Spec("team-0", "app-0"), Detach = true, ControllerNamespace = ControllerFleet.Home }, wait: false)));

        Assert.Equal("NoLiveController", e.ErrorId);
        Assert.Contains("namespace 'team-0'", e.Message);
        Assert.Contains("kubestead controller", e.Message);
        Assert.Equal(writes, fleet.Cluster.Writes.Count);
    }

    [Fact]
    public async Task Start_detach_is_refused_when_the_only_controller_stopped_or_serves_other_namespaces()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await fleet.HandOverAsync("team-0", "app-0");
        fleet.SeedApp("team-1", "app-1");
        await using var ci = fleet.CiService();
        var detached = new StartRequest { SpecYaml = ControllerFleet.Spec("team-1", "app-1"), Detach = true, ControllerNamespace = ControllerFleet.Home };

        // a serves every namespace: live, so team-1 is accepted too; once it stopped (heartbeat removed), nothing is.
        await a.Stop.CancelAsync();
        await a.Run.WaitAsync(TimeSpan.FromSeconds(30));
        var e = await Assert.ThrowsAsync<NoLiveControllerException>(() => Task.Run(() => ci.StartAsync(detached, wait: false)));
        Assert.Equal("NoLiveController", e.ErrorId);
        Assert.Null(fleet.Cluster.Peek(ResourceType.ConfigMap, "team-1", RolloutStateStore.ObjectName("app-1")));
    }

    [Fact]
    public async Task Start_detach_records_the_rollout_for_the_controllers_and_returns_at_once()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await using var ci = fleet.CiService();
        fleet.SeedApp("team-0", "app-0");

        var result = await Task.Run(() => ci.StartAsync(
            new StartRequest { SpecYaml = ControllerFleet.Spec("team-0", "app-0"), Detach = true, ControllerNamespace = ControllerFleet.Home }, wait: false));
        fleet.Rollouts.Add(new RolloutKey("team-0", "app-0"));

        Assert.Equal(RolloutPhase.Progressing, result.Phase);
        var cm = fleet.Cluster.Peek(ResourceType.ConfigMap, "team-0", RolloutStateStore.ObjectName("app-0"))!;
        Assert.Equal(ControllerHandoff.ControllerValue, cm["metadata"]!["labels"]![ControllerHandoff.DriverLabel]!.GetValue<string>());
        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "the detached rollout completed");
        AssertEndedAsWithOneDriver(fleet);
        // status names the controller replica that drives it while it runs; here, the history says who did.
        Assert.Contains(fleet.State(new RolloutKey("team-0", "app-0")).Status.History, h => h.Driver == a.Holder);
    }
}
