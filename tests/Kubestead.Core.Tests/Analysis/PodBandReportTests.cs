using Kubestead.Analysis;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Xunit.Abstractions;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>
/// Issue #29: where the control's pods differ persistently the judge widens its Fail null by D and narrows its Pass null
/// to detectRatio/D'. An undecided verdict says so (and says when no Pass can come), and the planner and the progress
/// estimate count D' (they assumed alike pods: a progress bar could fill while no Pass was possible).
/// </summary>
public class PodBandReportTests(ITestOutputHelper output)
{
    private const int Hour = 240;

    /// <summary>Ten pods at 20 rps and p0 = 1%, one of them the canary's, 25% weight, 15 s windows (ControlHistoryLearningTests' cell).</summary>
    private static SequentialErrorRateJudge Judge(int seed, double cv, int windows, int history) =>
        PersistentPodEffectTests.Run(new Random(seed), 0.25, 1, 1, cv, cv, perPod: true, 20, stopAtVerdict: false, ticksPerWindow: 1,
            windows: windows, historyWindows: history).Judge;

    [Fact]
    public void An_undecided_verdict_says_the_pods_band_and_that_no_pass_can_come_at_one_canary_pod_with_cv_1()
    {
        var judge = Judge(7, 1.0, 4, Hour);
        var verdict = judge.Evaluate();
        output.WriteLine(verdict.Summary);
        Assert.Equal(VerdictOutcome.InsufficientData, verdict.Outcome);
        Assert.True(judge.PassPodAllowance >= 5, $"the Pass band is {judge.PassPodAllowance:0.00}");
        Assert.Contains("allowing for how far the control's pods may differ persistently (learned φ² ", verdict.Summary);
        Assert.Contains("no Pass can come while they may differ this much", verdict.Summary);
        Assert.Contains($"a Fail needs the canary above {judge.PodAllowance.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}x control's rate", verdict.Summary);
    }

    /// <summary>
    /// The verdict names the φ² its Pass band read (the learned value plus its margin), and a plan given that number counts
    /// the band the judge uses; the learned value alone plans a narrower band than the judge's.
    /// </summary>
    [Fact]
    public void A_plan_given_the_bound_the_verdict_names_counts_the_judges_pass_band()
    {
        var judge = Judge(11, 0.5, 8, Hour);
        var verdict = judge.Evaluate();
        output.WriteLine(verdict.Summary);
        var match = System.Text.RegularExpressions.Regex.Match(verdict.Summary, @"learned φ² ([0-9.]+), read by the Pass band as up to ([0-9.]+)\)");
        Assert.True(match.Success, verdict.Summary);
        var (learned, bound) = (double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(bound > learned, $"{bound} against {learned}");

        // Ten pods, one of them the canary's (the judge's cell): the plan's 9 stable replicas and 1 canary pod.
        SplitPlanResult Plan(double variance) => new KubesteadOffline().PlanSplit(
            new SplitPlanRequest(25, TimeSpan.FromSeconds(15), 20, CanaryRoutingMode.Binomial, MeshProviders.Istio, 9)
            {
                PodVariance = variance,
                CanaryReplicas = 1,
            });
        var atBound = Plan(bound).PassPodBand!.Value;
        Assert.True(Math.Abs(atBound / judge.PassPodAllowance - 1) < 0.01, $"plan {atBound:0.000} against the judge's {judge.PassPodAllowance:0.000}");
        Assert.True(Plan(learned).PassPodBand < 0.99 * judge.PassPodAllowance, $"plan at the learned value {Plan(learned).PassPodBand:0.000}");
    }

    [Fact]
    public void Alike_pods_learned_from_six_hours_add_nothing_to_the_verdict()
    {
        var judge = Judge(7, 0, 4, 6 * Hour);
        var verdict = judge.Evaluate();
        // Not 1: the Pass band reads one standard error above an estimate near 0 (about 1.2 here), too little to be worth a sentence.
        Assert.True(judge.PodAllowance < 1.25 && judge.PassPodAllowance < 1.25,
            $"alike pods after six hours: bands {judge.PodAllowance:0.000} / {judge.PassPodAllowance:0.000}");
        Assert.DoesNotContain("pods", verdict.Summary);
    }

    [Fact]
    public void Before_anything_is_learned_a_verdict_says_the_pass_waits_for_it()
    {
        // No history and one window: per-pod counts are there, no pair of windows yet, so the Pass band is at its cap.
        var judge = Judge(7, 0, 1, 0);
        Assert.False(judge.PodDispersionLearned);
        var verdict = judge.Evaluate();
        output.WriteLine(verdict.Summary);
        Assert.Equal(VerdictOutcome.InsufficientData, verdict.Outcome);
        Assert.Contains("how far they differ is not learned yet", verdict.Summary);
        Assert.Contains("no Pass until it is", verdict.Summary);
    }

    [Fact]
    public void The_plan_counts_the_pods_band_in_the_requests_and_windows_a_pass_needs()
    {
        var window = TimeSpan.FromSeconds(15);
        var alike = CanarySamplePlanner.Plan(200, 0.25, window, PlannedRouting.Binomial, baselineErrorRate: 0.01);
        var band = CanarySamplePlanner.Plan(200, 0.25, window, PlannedRouting.Binomial, baselineErrorRate: 0.01, passPodAllowance: 2);
        Assert.NotNull(alike.CanaryRequestsToPass);
        Assert.NotNull(band.CanaryRequestsToPass);
        // Showing the canary under 2.5x instead of 5x takes far more: the mirrored null share moves toward the observed one.
        Assert.True(band.CanaryRequestsToPass > 2 * alike.CanaryRequestsToPass, $"{band.CanaryRequestsToPass} against {alike.CanaryRequestsToPass}");
        Assert.True(band.WindowsToPass > alike.WindowsToPass, $"{band.WindowsToPass} windows against {alike.WindowsToPass}");
        Assert.Contains(band.Warnings, w => w.Contains("under 2.5x control's rate", StringComparison.Ordinal));
        Assert.DoesNotContain(alike.Warnings, w => w.Contains("dispersion", StringComparison.Ordinal));
        // A band of 1 is the plan as it was (the default).
        var one = CanarySamplePlanner.Plan(200, 0.25, window, PlannedRouting.Binomial, baselineErrorRate: 0.01, passPodAllowance: 1);
        Assert.Equal(alike.CanaryRequestsToPass, one.CanaryRequestsToPass);
        Assert.Equal(alike.WindowsToPass, one.WindowsToPass);
    }

    [Theory]
    [InlineData(5.0)]
    [InlineData(94.0)]
    [InlineData(double.PositiveInfinity)]
    public void A_band_at_or_above_detect_ratio_plans_no_pass_and_says_why(double passBand)
    {
        var plan = CanarySamplePlanner.Plan(200, 0.25, TimeSpan.FromSeconds(15), PlannedRouting.Binomial, baselineErrorRate: 0.01,
            rolloutDuration: TimeSpan.FromMinutes(30), passPodAllowance: passBand);
        Assert.Null(plan.CanaryRequestsToPass);
        Assert.Null(plan.WindowsToPass);
        Assert.Null(plan.TimeToPassFloor);
        Assert.Contains(plan.Warnings, w => w.Contains("no Pass can come while the pods differ this much", StringComparison.Ordinal));
        // Detection is the Fail side's: unchanged.
        Assert.Equal(CanarySamplePlanner.Plan(200, 0.25, TimeSpan.FromSeconds(15), PlannedRouting.Binomial, baselineErrorRate: 0.01).TimeToDetect, plan.TimeToDetect);
    }

    /// <summary>What an analysis-until-verdict step's progress bar is given for one sequential metric whose judge is <paramref name="judge"/>.</summary>
    private static (long Seen, long Needed)? Progress(SequentialCountJudge judge)
    {
        var spec = new JudgeSpec("sequential", 0.05, 5, 1.0, 0.98, null, null, null);
        var plan = new AnalysisPlan(TimeSpan.FromSeconds(15), 0, 3, 0);
        var runner = new AnalysisRunner(plan, [new MetricBinding("error-rate", judge, (_, _, _) => throw new InvalidOperationException("not queried"), spec)]);
        var runtime = new RolloutRuntime(new RolloutPlan("shop", "web", [new AnalysisPlanStep(null, UntilVerdict: true)], plan, new RolloutPolicies()),
            "istio", null!, null!, runner);
        var started = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        var verdict = judge.Evaluate();
        var status = new RolloutStatus { CanaryWeight = 25, StartedAt = started, UpdatedAt = started.AddMinutes(1), LastVerdicts = [verdict] };
        return AnalysisProgress.For(runtime, status);
    }

    [Fact]
    public void The_progress_estimate_needs_more_where_the_pods_band_is_wider_and_has_none_where_no_pass_can_come()
    {
        var alike = Judge(7, 0, 4, 6 * Hour);
        var alikeProgress = Progress(alike);
        Assert.NotNull(alikeProgress);
        // The same counts judged as if the band were 1: the estimate the bar had before it read the band.
        var unbanded = CanarySamplePlanner.Plan((alike.Evaluate().CanaryRequests + alike.Evaluate().ControlRequests) / 60.0, 0.25,
            TimeSpan.FromSeconds(15), PlannedRouting.Binomial, 0.001, 5, 0.05).CanaryRequestsToPass;
        Assert.True(alikeProgress!.Value.Needed > unbanded, $"alike pods' band {alike.PassPodAllowance:0.00}: needed {alikeProgress.Value.Needed} against {unbanded} at band 1");
        // One canary pod at CV 1.0: the band leaves no Pass, so no bar fills toward one.
        Assert.Null(Progress(Judge(7, 1.0, 4, Hour)));
    }
}
