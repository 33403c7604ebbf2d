using Kubestead.Analysis;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Analysis;

public class WindowBettingEProcessTests
{
    [Fact]
    public void With_one_failure_in_a_window_the_bet_is_the_per_request_likelihood_ratio()
    {
        var window = new WindowBettingEProcess(1, [5], BettingSide.Above);
        var request = new ConditionalBinomialEProcess(1, [5]);
        foreach (var (nc, xc, ns, xs) in new[] { (100L, 1L, 900L, 0L), (50L, 0L, 950L, 1L), (300L, 1L, 700L, 0L) })
        {
            window.Observe(nc, xc, ns, xs);
            request.Observe(nc, xc, ns, xs);
        }
        Assert.Equal(request.EValue, window.EValue, 9);
    }

    [Fact]
    public void One_window_multiplies_the_evidence_by_at_most_the_capped_all_in_bet()
    {
        // 100 failures all on the canary at a 25% share: the per-request ratio would explode; the window bet earns at
        // most 1 + MaxStake(1/θ0 - 1).
        var e = new WindowBettingEProcess(1, [20], BettingSide.Above);
        e.Observe(250, 100, 750, 0);
        Assert.Equal(1 + WindowBettingEProcess.MaxStake * 3, e.EValue, 6);
    }

    [Fact]
    public void A_window_exactly_at_the_null_share_leaves_the_evidence_unchanged()
    {
        var e = new WindowBettingEProcess(1, [2, 5], BettingSide.Above);
        e.Observe(100, 2, 900, 18);
        Assert.Equal(1, e.EValue, 9);
    }

    [Theory]
    [InlineData(1.0, 0.5, BettingSide.Above)]
    [InlineData(1.0, 1.0, BettingSide.Above)]
    [InlineData(5.0, 6.0, BettingSide.Below)]
    [InlineData(5.0, 5.0, BettingSide.Below)]
    public void Alternatives_on_the_wrong_side_of_the_null_are_rejected(double nullRatio, double alternative, BettingSide side)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new WindowBettingEProcess(nullRatio, [alternative], side));
        Assert.Contains("must be", ex.Message);
    }

    [Fact]
    public void The_below_side_collects_evidence_when_the_canary_share_is_low()
    {
        var e = new WindowBettingEProcess(5, [1, 2.5], BettingSide.Below);
        for (var i = 0; i < 20; i++) e.Observe(100, 1, 900, 9);
        Assert.True(e.EValue > 40, $"e = {e.EValue}");
    }

    [Fact]
    public void State_round_trips()
    {
        var a = new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]);
        a.Observe(100, 3, 900, 2);
        a.Observe(100, 0, 900, 7);
        var b = new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]);
        b.Restore(a.Save());
        Assert.Equal(a.EValue, b.EValue, 12);
    }
}

public class AnalysisGateAlphaTests
{
    private static MetricSpec Metric(string name) =>
        new(name, new MetricProviderSpec("prometheus", "http://prometheus:9090", "istio", null, null, null, TimeSpan.FromSeconds(10)),
            new JudgeSpec("sequential", 0.05, 5, 1.0, 0.98, null, null, null));

    private static VerdictOutcome Feed(ICanaryJudge judge, int windows)
    {
        // Each window: 1 canary failure against 4 on control at a 10% share (canary's share of failures 20%): evidence
        // for "worse" grows by less than a factor 2 a window, so the two thresholds fall on different windows.
        for (var i = 0; i < windows; i++)
            judge.Observe(new MetricWindow(default, default, new VersionSample(100, 1), new VersionSample(900, 4)));
        return judge.Evaluate().Outcome;
    }

    [Fact]
    public void Two_sequential_metrics_in_one_gate_each_run_at_half_the_alpha()
    {
        var single = JudgeFactory.CreateGate([Metric("errors")]);
        var pair = JudgeFactory.CreateGate([Metric("errors"), Metric("5xx")]);
        // The smallest number of such windows at which one metric alone fails:
        var windows = Enumerable.Range(1, 200).First(n => Feed(JudgeFactory.CreateGate([Metric("errors")])[0], n) == VerdictOutcome.Fail);
        Assert.Equal(VerdictOutcome.Fail, Feed(single[0], windows));
        // In a two-metric gate the same evidence is not yet enough: each metric has alpha/2, so the gate keeps alpha.
        Assert.NotEqual(VerdictOutcome.Fail, Feed(pair[0], windows));
    }

    [Fact]
    public void Threshold_metrics_do_not_dilute_a_sequential_metric()
    {
        var threshold = new MetricSpec("ok", Metric("ok").Provider, new JudgeSpec("threshold", 0.05, 5, 1, 0.98, 99, null, null));
        var gate = JudgeFactory.CreateGate([Metric("errors"), threshold]);
        var windows = Enumerable.Range(1, 200).First(n => Feed(JudgeFactory.CreateGate([Metric("errors")])[0], n) == VerdictOutcome.Fail);
        Assert.Equal(VerdictOutcome.Fail, Feed(gate[0], windows));
    }
}
