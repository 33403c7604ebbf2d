using Kubestead.Controller;
using Kubestead.Sandbox;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// The controller's delayed looks at a known time (a Lease's or a peer heartbeat's expiry plus a second). A delay the
/// caller computed from its own reading of the clock slips by however far the clock moves before the timer is set; with
/// the fleet tests' virtual clock, moved a second at a time by another thread, that once left a takeover due a second
/// after the moment the test stopped the clock at, and the takeover never came.
/// </summary>
public class RolloutWorkQueueTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly RolloutKey Key = new("team", "app");

    /// <summary>A virtual clock that another thread moves by one second right after each of the next readings.</summary>
    private sealed class JumpingClock(VirtualClock inner) : TimeProvider
    {
        public int JumpsLeft { get; set; }

        public override DateTimeOffset GetUtcNow()
        {
            var now = inner.GetUtcNow();
            if (JumpsLeft > 0)
            {
                JumpsLeft--;
                inner.Advance(TimeSpan.FromSeconds(1));
            }
            return now;
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);
    }

    private static async Task<bool> ReadyAsync(RolloutWorkQueue queue)
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        try
        {
            await queue.TakeAsync(quick.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_look_at_a_known_time_is_due_then_even_when_the_clock_jumps_while_it_is_set()
    {
        var inner = new VirtualClock(Start);
        var clock = new JumpingClock(inner);
        using var queue = new RolloutWorkQueue(clock);
        clock.JumpsLeft = 2;
        queue.AddAt(Key, Start + TimeSpan.FromSeconds(5));

        Assert.Equal(Start + TimeSpan.FromSeconds(2), inner.GetUtcNow());
        inner.Advance(TimeSpan.FromSeconds(2)); // +4
        Assert.False(await ReadyAsync(queue), "queued a second early");
        inner.Advance(TimeSpan.FromSeconds(1)); // +5: due
        Assert.True(await ReadyAsync(queue), "not queued when the clock reached the time it was due at");
    }

    [Fact]
    public async Task A_time_already_passed_queues_at_once_and_an_earlier_pending_look_wins()
    {
        var clock = new VirtualClock(Start);
        using var queue = new RolloutWorkQueue(clock);
        queue.AddAt(Key, Start - TimeSpan.FromSeconds(1));
        Assert.True(await ReadyAsync(queue));
        queue.Done(Key);

        queue.AddAt(Key, Start + TimeSpan.FromSeconds(2));
        queue.AddAt(Key, Start + TimeSpan.FromSeconds(10)); // later: the pending look at +2 stays
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await ReadyAsync(queue), "the earlier look was replaced by a later one");
    }
}
