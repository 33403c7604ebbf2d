using Kubestead.Analysis;

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
