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
