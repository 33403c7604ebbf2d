using Kubestead.Analysis;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.State;


namespace Kubestead.Core.Tests.Rollouts;

/// <summary>Where a warm-up starts: the later of the weight write and the canary's pods being ready (issue #12).</summary>
public class WarmupClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Warmup = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(10);
    private static readonly CanaryReadiness Ready = new(true, 2, 2);
    private static readonly CanaryReadiness Missing = new(false, 0, 2);

    private static RolloutStatus Progressing => new() { Phase = RolloutPhase.Progressing, CanaryWeight = 10 };

    [Fact]
    public void A_warm_up_due_with_ready_pods_runs_from_the_write()
    {
        var s = WarmupClock.Begin(Progressing, Warmup, T0, Ready);
        Assert.Equal(T0, s.WarmupFrom);
        Assert.Equal(T0 + Warmup, s.WarmupUntil);
        Assert.False(s.WarmupAwaitingReady);
    }

    [Fact]
    public void A_warm_up_due_before_the_pods_are_ready_waits_for_them_and_every_window_until_then_is_warm_up()
    {
        var s = WarmupClock.Begin(Progressing, Warmup, T0, Missing);
        Assert.True(s.WarmupAwaitingReady);
        Assert.Null(s.WarmupFrom);
        Assert.Equal(T0, s.CanaryUnreadySince);

        // Still missing 5 minutes later: the warm-up reaches a full warm-up past that look, without a write.
        var later = WarmupClock.Observe(s, Warmup, ReadyTimeout, T0.AddMinutes(5), Missing);
        Assert.Null(later.Message);
        Assert.False(later.MustWrite);
        Assert.Equal(T0.AddMinutes(5) + Warmup, later.Status.WarmupUntil);

        var ready = WarmupClock.Observe(later.Status, Warmup, ReadyTimeout, T0.AddMinutes(7), Ready);
        Assert.True(ready.MustWrite);
        Assert.Equal(T0.AddMinutes(7), ready.Status.WarmupFrom);
        Assert.Equal(T0.AddMinutes(8), ready.Status.WarmupUntil);
        Assert.False(ready.Status.WarmupAwaitingReady);
        Assert.Null(ready.Status.CanaryUnreadySince);
        Assert.Equal(0, ready.Status.WarmupRestarts);
    }

    [Fact]
    public void Pods_that_never_become_ready_stop_holding_the_judges_back_after_the_ready_timeout()
    {
        var s = WarmupClock.Begin(Progressing, Warmup, T0, Missing);
        var gaveUp = WarmupClock.Observe(s, Warmup, ReadyTimeout, T0 + ReadyTimeout, Missing);
        Assert.True(gaveUp.Warning);
        Assert.Contains("ready timeout 10m", gaveUp.Message);
        Assert.False(gaveUp.Status.WarmupAwaitingReady);
        Assert.Equal(T0 + ReadyTimeout + Warmup, gaveUp.Status.WarmupUntil);
        // From here a missing pod is a drop like any other: its windows are judged.
        var after = WarmupClock.Observe(gaveUp.Status, Warmup, ReadyTimeout, T0 + ReadyTimeout + TimeSpan.FromSeconds(10), Missing);
        Assert.False(after.Status.WarmupAwaitingReady);
        Assert.Equal(gaveUp.Status.WarmupUntil, after.Status.WarmupUntil);
    }

    [Fact]
    public void Pods_that_drop_and_return_restart_the_warm_up_at_most_MaxRestarts_times()
    {
        var s = WarmupClock.Begin(Progressing, Warmup, T0, Ready);
        var at = T0.AddMinutes(5);
        for (var i = 1; i <= WarmupClock.MaxRestarts + 1; i++)
        {
            var drop = WarmupClock.Observe(s, Warmup, ReadyTimeout, at, Missing);
            Assert.Equal(at, drop.Status.CanaryUnreadySince);
            Assert.Equal(s.WarmupUntil, drop.Status.WarmupUntil); // windows while pods are missing are still judged
            Assert.True(drop.Warning);
            var stillMissing = WarmupClock.Observe(drop.Status, Warmup, ReadyTimeout, at.AddSeconds(10), Missing);
            Assert.Equal(drop.Status, stillMissing.Status);
            var back = WarmupClock.Observe(stillMissing.Status, Warmup, ReadyTimeout, at.AddMinutes(1), Ready);
            Assert.Null(back.Status.CanaryUnreadySince);
            if (i <= WarmupClock.MaxRestarts)
            {
                Assert.Equal(i, back.Status.WarmupRestarts);
                Assert.Equal(at.AddMinutes(1), back.Status.WarmupFrom);
                Assert.Equal(at.AddMinutes(1) + Warmup, back.Status.WarmupUntil);
            }
            else
            {
                Assert.Equal(WarmupClock.MaxRestarts, back.Status.WarmupRestarts);
                Assert.Equal(s.WarmupUntil, back.Status.WarmupUntil);
                Assert.Contains("not restarted", back.Message);
            }
            s = back.Status;
            at = at.AddMinutes(5);
        }
    }

    [Fact]
    public void Ready_pods_without_a_drop_change_nothing()
    {
        var s = WarmupClock.Begin(Progressing, Warmup, T0, Ready);
        var seen = WarmupClock.Observe(s, Warmup, ReadyTimeout, T0.AddMinutes(3), Ready);
        Assert.Same(s, seen.Status);
        Assert.Null(seen.Message);
    }
}
