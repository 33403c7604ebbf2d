using Kubestead.Analysis;
using Kubestead.Rollouts;
using MathNet.Numerics;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>Issue #27 item 7: the planner at high traffic (log space, bounded work), and null as its one "never".</summary>
public class CanarySamplePlannerScaleTests
{
    [Theory]
    [InlineData(12_500)]
    [InlineData(20_000)]
    [InlineData(100_000)]
    [InlineData(5_000_000)]
    public void Requests_to_pass_stays_a_real_number_past_the_point_where_e_to_the_minus_lambda_underflows(double rps)
    {
        // 0.1% errors and one-minute windows: from ~12,500 rps a window holds more than 745 failures.
        var plan = CanarySamplePlanner.Plan(rps, 0.05, TimeSpan.FromMinutes(1), PlannedRouting.Binomial);

        Assert.NotNull(plan.CanaryRequestsToPass);
        Assert.NotNull(plan.WindowsToPass);
        // Never fewer than the window floor's requests, and never absurdly more: with this much traffic every window bets
        // near its cap, so a Pass takes a few windows' more than the floor at most.
        var floorRequests = plan.WindowsToPass!.Value * plan.ExpectedCanaryRequestsPerWindow;
        Assert.InRange((double)plan.CanaryRequestsToPass!.Value, floorRequests, 3 * floorRequests);
    }

    [Theory]
    [InlineData(5, 0.05)]
    [InlineData(50, 0.01)]
    [InlineData(300, 0.3)]
    [InlineData(390, 0.0001)]
    public void The_exact_sum_agrees_with_a_direct_sum_over_every_term(double lambda, double share)
    {
        var planned = CanarySamplePlanner.PassGrowthPerWindow(lambda, share, 5, 2.5);
        var direct = DirectGrowth(lambda, share, 5, 2.5);
        Assert.Equal(direct, planned, Math.Abs(direct) * 1e-6 + 1e-15);
    }

    [Theory]
    [InlineData(420, 0.05)]
    [InlineData(700, 0.3)]
    [InlineData(2000, 0.01)]
    [InlineData(2000, 0.5)]
    public void The_normal_approximation_agrees_with_a_direct_sum_within_two_percent(double lambda, double share)
    {
        var planned = CanarySamplePlanner.PassGrowthPerWindow(lambda, share, 5, 1);
        var direct = DirectGrowth(lambda, share, 5, 1);
        Assert.InRange(planned, direct * 0.98, direct * 1.02);
    }

    [Theory]
    [InlineData(1e3)]
    [InlineData(1e5)]
    [InlineData(1e7)]
    [InlineData(1e10)]
    public void The_work_is_bounded_whatever_the_failures_a_window_holds(double lambda)
    {
        // The old double sum had ~λ²/2 terms: 5·10^13 at λ = 10^7, minutes of uninterruptible spinning.
        foreach (var share in new[] { 1e-6, 0.01, 0.5, 0.99 })
        {
            var (growth, terms) = CanarySamplePlanner.PassGrowth(lambda, share, 5, 1);
            Assert.True(double.IsFinite(growth));
            Assert.InRange(terms, 1, 200_000);
        }
    }

    [Fact]
    public void A_canary_without_traffic_can_never_pass_and_says_so_with_null()
    {
        foreach (var plan in new[]
                 {
                     CanarySamplePlanner.Plan(100, 0, TimeSpan.FromMinutes(1), PlannedRouting.Binomial),
                     CanarySamplePlanner.Plan(0, 0.05, TimeSpan.FromMinutes(1), PlannedRouting.Binomial),
                 })
        {
            Assert.Null(plan.CanaryRequestsToPass);
            Assert.Null(plan.WindowsToPass);
            Assert.Null(plan.TimeToPassFloor);
        }
        var offline = new KubesteadOffline().PlanSplit(new SplitPlanRequest(0, TimeSpan.FromMinutes(1), 100));
        Assert.Null(offline.MinimumRequestsForPass);
        Assert.Null(offline.MinimumWindowsForPass);
        Assert.Null(offline.MinimumTimeForPass);
    }

    [Fact]
    public void A_cancelled_plan_stops()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new KubesteadOffline().PlanSplit(new SplitPlanRequest(5, TimeSpan.FromHours(1), 1_000_000), cancelled.Token));
    }

    /// <summary>The expectation summed over every (m, x) in log space, as slowly as the definition reads.</summary>
    private static double DirectGrowth(double lambda, double share, double detectRatio, double alternative)
    {
        var thetaNull = 1 - detectRatio * share / (detectRatio * share + 1 - share);
        var thetaAlt = 1 - alternative * share / (alternative * share + 1 - share);
        var growth = 0.0;
        var last = (int)Math.Ceiling(lambda + 20 * Math.Sqrt(lambda) + 20);
        for (var m = 1; m <= last; m++)
        {
            var logPm = -lambda + m * Math.Log(lambda) - SpecialFunctions.FactorialLn(m);
            var stake = WindowBettingEProcess.Stake(thetaNull, thetaAlt, m);
            for (var x = 0; x <= m; x++)
            {
                var logPx = SpecialFunctions.BinomialLn(m, x) + x * Math.Log(share) + (m - x) * Math.Log(1 - share);
                growth += Math.Exp(logPm + logPx) * Math.Log(1 + stake * (1 - (double)x / m - thetaNull));
            }
        }
        return growth;
    }
}
