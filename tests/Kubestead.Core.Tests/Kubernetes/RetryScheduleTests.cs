using Kubestead.Kubernetes;
using Kubestead.Sandbox;

namespace Kubestead.Core.Tests.Kubernetes;

/// <summary>The timing of retries during an API-server outage, on a virtual clock: backoff, Retry-After, the budget.</summary>
public class RetryScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 20, 0, 0, TimeSpan.Zero);

    /// <summary>Waits out every delay on the clock until the schedule gives up; returns the delays it asked for.</summary>
    private static List<TimeSpan> RunOutage(RetrySchedule schedule, VirtualClock clock, Func<int, TimeSpan?>? retryAfter = null)
    {
        var delays = new List<TimeSpan>();
        while (schedule.NextDelay(retryAfter?.Invoke(delays.Count)) is { } delay)
        {
            delays.Add(delay);
            clock.Advance(delay);
        }
        return delays;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void Backoff_grows_to_its_cap_and_retries_for_the_whole_budget_of_minutes(double jitter)
    {
        var clock = new VirtualClock(T0);
        var policy = new RetryPolicy();
        var schedule = new RetrySchedule(policy, clock, () => jitter);

        var delays = RunOutage(schedule, clock);

        Assert.Equal(RetryPolicy.DefaultBudget, clock.GetUtcNow() - T0); // the last attempt lands at the end of the budget
        Assert.Equal(TimeSpan.FromMinutes(5), policy.TotalBudget);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(125), policy.Max));
        var growing = delays.Take(6).ToList();
        Assert.Equal(growing.OrderBy(d => d), growing);  // exponential at first ...
        Assert.True(delays[^2] >= policy.Max / 2);       // ... then held between half the cap and the cap
        Assert.InRange(delays.Count, 20, 45);             // a few attempts a minute, not a flood
    }

    [Fact]
    public void Retry_after_is_waited_as_given_even_beyond_the_backoff_cap_but_never_past_the_budget()
    {
        var clock = new VirtualClock(T0);
        var schedule = new RetrySchedule(new RetryPolicy(Budget: TimeSpan.FromSeconds(100)), clock, () => 0.5);

        var delays = RunOutage(schedule, clock, _ => TimeSpan.FromSeconds(40));

        Assert.Equal([TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(20)], delays);
    }

    [Fact]
    public void A_success_starts_a_fresh_budget_and_max_attempts_still_bounds_the_count()
    {
        var clock = new VirtualClock(T0);
        var schedule = new RetrySchedule(new RetryPolicy(Budget: TimeSpan.FromSeconds(10)), clock, () => 1);
        clock.Advance(schedule.NextDelay(TimeSpan.FromSeconds(9))!.Value);
        schedule.Succeeded();
        Assert.Equal(TimeSpan.FromSeconds(9), schedule.NextDelay(TimeSpan.FromSeconds(9)));
        Assert.Equal(TimeSpan.Zero, schedule.Elapsed);

        var bounded = new RetrySchedule(new RetryPolicy(MaxAttempts: 3), clock);
        Assert.NotNull(bounded.NextDelay(null));
        Assert.NotNull(bounded.NextDelay(null));
        Assert.Null(bounded.NextDelay(null));
    }
}
