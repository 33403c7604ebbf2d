using Kubestead.Controller;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>What /readyz reports (<see cref="RolloutController.Readiness"/>) and the gauges /metrics reads, on the emulated cluster.</summary>
public class ControllerReadinessTests
{
    [Fact]
    public async Task A_replica_that_cannot_write_its_heartbeat_is_not_ready_until_it_writes_again()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        Assert.True(a.Controller.Readiness.IsReady, a.Controller.Readiness.Detail);

        // Cut off from the API server: the heartbeat (every 10 s of a 30 s duration) stops being written.
        a.Api.Freeze();
        await fleet.AdvanceUntilAsync(() => !a.Controller.Readiness.IsReady, TimeSpan.FromMinutes(2), "a reports not ready");
        Assert.Contains("heartbeat", a.Controller.Readiness.Detail, StringComparison.Ordinal);

        a.Api.Thaw();
        await fleet.AdvanceUntilAsync(() => a.Controller.Readiness.IsReady, TimeSpan.FromMinutes(2), "a ready again");
    }

    /// <summary>
    /// The 3-process real-server test's "no live heartbeat" flake: its replicas wrote one heartbeat, then spent longer
    /// than its duration on their first lists (a loaded machine), and renewed it only after them.
    /// </summary>
    [Fact]
    public async Task A_replica_whose_first_list_is_slow_renews_its_heartbeat_meanwhile_and_is_seen_live()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a", api => api.HoldLists(Kubestead.Kubernetes.ResourceType.ConfigMap), waitReady: false);
        var heartbeat = Kubestead.Kubernetes.ResourceType.Lease;
        DateTimeOffset? Renewed() => fleet.Cluster.Peek(heartbeat, ControllerFleet.Home, ControllerHeartbeat.NameFor("a"))?["spec"]?["renewTime"]?.GetValue<string>() is { } t
            ? DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : null;
        await fleet.AdvanceUntilAsync(() => Renewed() is not null, TimeSpan.FromSeconds(30), "the first heartbeat");
        var first = Renewed()!.Value;

        // Three heartbeat durations (30 s each) into a list that has not answered: renewed all along, so a CI job's
        // `start --detach` finds a live controller; not ready, since it has not seen the rollouts yet.
        await fleet.AdvanceUntilAsync(() => Renewed() >= first + TimeSpan.FromSeconds(90), TimeSpan.FromMinutes(3), "the heartbeat renewed while the first list hangs");
        Assert.False(a.Controller.IsReady);
        Assert.NotEmpty(await ControllerPresence.FindAsync(fleet.Cluster, fleet.Clock, ControllerFleet.Home, "team-0", CancellationToken.None));

        a.Api.ReleaseLists();
        await fleet.AdvanceUntilAsync(() => a.Controller.Readiness.IsReady, TimeSpan.FromMinutes(1), "ready once the list answers");
    }

    [Fact]
    public async Task A_draining_replica_is_not_ready()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await a.Stop.CancelAsync();
        await a.Run;
        Assert.False(a.Controller.Readiness.IsReady);
        Assert.Equal("draining", a.Controller.Readiness.Detail);
    }

    [Fact]
    public async Task The_watch_counts_handed_rollouts_by_phase()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await fleet.HandOverAsync("team-0", "app-0");
        await fleet.HandOverAsync("team-1", "app-1");
        await fleet.AdvanceUntilAsync(() => a.Controller.RolloutsByPhase.GetValueOrDefault(RolloutPhase.Progressing) == 2, TimeSpan.FromMinutes(1), "two progressing");
        await fleet.AdvanceUntilAsync(fleet.AllDone, TimeSpan.FromMinutes(20), "both completed");
        await fleet.AdvanceUntilAsync(() => a.Controller.RolloutsByPhase.GetValueOrDefault(RolloutPhase.Completed) == 2, TimeSpan.FromMinutes(1), "two completed in the watch");
        Assert.Empty(a.Controller.Driving);
    }
}
