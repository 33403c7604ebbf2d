using System.Text.Json.Nodes;
using Kubestead.Analysis;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>The background test as a mixture of e-processes restarted on a schedule (issue #12).</summary>
public class RestartMixtureTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly RestartMixtureOptions EveryMinute = new(TimeSpan.FromMinutes(1), 0.5, 12, 16);

    private static int Binomial(Random rng, int n, double p)
    {
        var k = 0;
        for (var i = 0; i < n; i++) if (rng.NextDouble() < p) k++;
        return k;
    }

    private static int Poisson(Random rng, double mean)
    {
        var (l, k, p) = (Math.Exp(-mean), 0, 1.0);
        while ((p *= rng.NextDouble()) > l) k++;
        return k;
    }

    private static SequentialErrorRateJudge Judge(RestartMixtureOptions? restarts) =>
        new("errors", new SequentialJudgeOptions(Restarts: restarts));

    private static MetricWindow W(int i, long nc, long xc, long ns, long xs) =>
        new(T0 + i * Window, T0 + (i + 1) * Window, new VersionSample(nc, xc), new VersionSample(ns, xs));

    [Fact]
    public void Under_the_null_the_mixture_reaches_the_decision_threshold_no_more_often_than_alpha_over_a_long_horizon_with_many_restarts()
    {
        // The least favourable null: every failure lands on the canary with exactly its share of the traffic (θ0 = 20%),
        // two failures a window on average, 2,000 ten-second windows (5.5 hours, 333 restarts, at most 16 live).
        var rng = new Random(12);
        const int replicates = 1000;
        var threshold = SequentialCountJudge.DecisionThreshold(new SequentialJudgeOptions());
        var alarms = 0;
        var maxLive = 0;
        for (var r = 0; r < replicates; r++)
        {
            var e = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]), EveryMinute);
            for (var i = 0; i < 2000; i++)
            {
                e.StartDue(T0 + i * Window);
                var m = Poisson(rng, 2);
                var xc = Binomial(rng, m, 0.2);
                e.Observe(200, xc, 800, m - xc);
                maxLive = Math.Max(maxLive, e.Components);
                if (e.EValue >= threshold) { alarms++; break; }
            }
        }
        output.WriteLine($"false alarms: {alarms} of {replicates}; at most {maxLive} live components");
        // Ville: P(ever >= 2/α) <= α/2 = 2.5%.
        Assert.True(alarms <= replicates * 0.025, $"{alarms} of {replicates}");
        Assert.Equal(EveryMinute.MaxComponents, maxLive);
    }

    [Fact]
    public void A_fault_that_starts_after_a_long_good_stretch_is_caught_sooner_than_by_the_single_e_process()
    {
        // 25% canary, p0 1% on both sides for 40 minutes, then the canary fails ten times as often.
        var rng = new Random(5);
        const int replicates = 200, onset = 240;
        double singleTotal = 0, mixtureTotal = 0;
        var mixtureFaster = 0;
        for (var r = 0; r < replicates; r++)
        {
            var single = Judge(null);
            var mixture = Judge(RestartMixtureOptions.Default);
            int? singleAt = null, mixtureAt = null;
            for (var i = 0; i < onset + 600 && (singleAt is null || mixtureAt is null); i++)
            {
                var w = W(i, 50, Binomial(rng, 50, i < onset ? 0.01 : 0.1), 150, Binomial(rng, 150, 0.01));
                single.Observe(w);
                mixture.Observe(w);
                if (i >= onset && singleAt is null && single.Evaluate().Outcome == VerdictOutcome.Fail) singleAt = i - onset + 1;
                if (i >= onset && mixtureAt is null && mixture.Evaluate().Outcome == VerdictOutcome.Fail) mixtureAt = i - onset + 1;
            }
            singleTotal += singleAt ?? 600;
            mixtureTotal += mixtureAt ?? 600;
            if ((mixtureAt ?? 600) < (singleAt ?? 600)) mixtureFaster++;
        }
        output.WriteLine($"windows from onset to Fail, mean: single {singleTotal / replicates:0.0}, mixture {mixtureTotal / replicates:0.0}; mixture faster in {mixtureFaster}");
        Assert.True(mixtureTotal < 0.75 * singleTotal, $"mixture {mixtureTotal / replicates:0.0} vs single {singleTotal / replicates:0.0} windows");
    }

    [Fact]
    public void The_saved_state_restores_into_a_new_judge_that_continues_with_the_same_e_value()
    {
        var rng = new Random(3);
        var original = Judge(EveryMinute);
        for (var i = 0; i < 100; i++) original.Observe(W(i, 50, Binomial(rng, 50, 0.02), 150, Binomial(rng, 150, 0.01)));
        // Through JSON text, as the status store writes it.
        var saved = JsonNode.Parse(original.SaveState().ToJsonString())!.AsObject();
        Assert.True(saved["restarts"]!.GetValue<bool>());
        var restored = Judge(EveryMinute);
        restored.RestoreState(saved);
        Assert.Equal(original.Evidence.Fail, restored.Evidence.Fail, 12);
        for (var i = 100; i < 200; i++)
        {
            var w = W(i, 50, Binomial(rng, 50, i > 150 ? 0.1 : 0.01), 150, Binomial(rng, 150, 0.01));
            original.Observe(w);
            restored.Observe(w);
            Assert.Equal(original.Evidence.Fail, restored.Evidence.Fail, 9);
            Assert.Equal(original.Evaluate().Outcome, restored.Evaluate().Outcome);
        }
        Assert.Equal(original.SaveState().ToJsonString(), restored.SaveState().ToJsonString());
        // 200 windows of 10 s with a restart a minute: 34 starts, at most 16 kept (3 numbers each + weight).
        var fail = (JsonArray)original.SaveState()["fail"]!;
        Assert.InRange((fail.Count - 3) / 4, 1, 16);
        Assert.Equal(34, (long)fail[2]!.GetValue<double>());
    }

    [Fact]
    public void A_restored_mixture_starts_its_components_in_the_same_windows_when_window_times_carry_fractions_of_a_millisecond()
    {
        var start = T0 + TimeSpan.FromTicks(6_000); // 0.6 ms past the second
        var original = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
        original.StartDue(start);
        original.Observe(100, 2, 900, 5);
        var restored = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
        restored.Restore(original.Save());
        foreach (var at in new[] { start + TimeSpan.FromSeconds(59.9997), start + TimeSpan.FromMinutes(1), start + TimeSpan.FromMinutes(2) })
        {
            original.StartDue(at);
            restored.StartDue(at);
            Assert.Equal(original.Starts, restored.Starts);
            Assert.Equal(original.EValue, restored.EValue, 12);
        }
    }

    [Fact]
    public void A_single_e_process_saved_before_restarts_continues_as_the_first_start_of_the_mixture()
    {
        var single = Judge(null);
        for (var i = 0; i < 30; i++) single.Observe(W(i, 50, i % 3 == 0 ? 2 : 0, 150, 1));
        var mixture = Judge(EveryMinute);
        mixture.RestoreState(single.SaveState());
        // Its wealth at the first start's weight, plus the weight of the starts not made yet (each 1 until it starts).
        Assert.Equal(EveryMinute.FirstWeight * single.Evidence.Fail + (1 - EveryMinute.FirstWeight), mixture.Evidence.Fail, 9);
        Assert.Equal(single.Evaluate().CanaryRequests, mixture.Evaluate().CanaryRequests);
        // And a judge without restarts reading a mixture's state starts its Fail test at 1 (valid) but keeps the counts.
        var plain = Judge(null);
        plain.RestoreState(mixture.SaveState());
        Assert.Equal(1, plain.Evidence.Fail, 12);
        Assert.Equal(single.Evaluate().CanaryRequests, plain.Evaluate().CanaryRequests);
    }

    [Fact]
    public void The_mixture_starts_at_one_and_the_weights_of_all_starts_sum_to_one()
    {
        var o = RestartMixtureOptions.Default;
        var e = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [5], BettingSide.Above), o);
        Assert.Equal(1, e.EValue, 12);
        e.StartDue(T0);
        Assert.Equal(1, e.EValue, 12);
        var sum = 0.0;
        for (var k = 0; k < 100_000; k++) sum += o.Weight(k);
        Assert.Equal(1 - o.WeightFrom(100_000), sum, 9);
        Assert.True(o.WeightFrom(100_000) < 1e-3);
        Assert.All(Enumerable.Range(1, 50), k => Assert.True(o.Weight(k) <= o.Weight(k - 1) || k == 1));
    }

    [Fact]
    public void Starts_missed_in_a_gap_begin_as_one_component_with_their_summed_weight()
    {
        var e = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
        e.StartDue(T0);
        e.Observe(100, 5, 900, 0); // evidence for the first start only
        var before = e.EValue;
        e.StartDue(T0 + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1)); // starts 1..10 were due
        Assert.Equal(11, e.Starts);
        Assert.Equal(2, e.Components);
        Assert.Equal(before, e.EValue, 12); // a new start is 1 either way: starting it changes nothing
    }

    [Fact]
    public void Negligible_components_are_dropped_and_the_count_never_exceeds_the_cap()
    {
        var e = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [20], BettingSide.Above), new RestartMixtureOptions(TimeSpan.FromSeconds(10), 0.5, 12, 4));
        for (var i = 0; i < 50; i++)
        {
            e.StartDue(T0 + i * Window);
            e.Observe(500, 0, 500, 10); // every failure on control: each live component's wealth falls fast
            Assert.InRange(e.Components, 0, 4);
        }
        Assert.Equal(50, e.Starts);
        Assert.True(e.Components < 4, $"{e.Components} live: drained components are dropped");
    }

    [Theory]
    [InlineData(0, 0.5, 12, 16, "Spacing")]
    [InlineData(60, 0, 12, 16, "FirstWeight")]
    [InlineData(60, 1, 12, 16, "FirstWeight")]
    [InlineData(60, 0.5, 0, 16, "Scale")]
    [InlineData(60, 0.5, 12, 0, "MaxComponents")]
    public void Options_that_cannot_make_a_valid_mixture_are_rejected_naming_the_field(double seconds, double first, double scale, int max, string field)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new RestartMixtureOptions(TimeSpan.FromSeconds(seconds), first, scale, max).Validate());
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void A_state_that_is_not_a_mixture_of_this_e_process_is_rejected()
    {
        var e = new RestartMixtureEProcess(() => new WindowBettingEProcess(1, [2, 5], BettingSide.Above), EveryMinute);
        Assert.Throws<ArgumentException>(() => e.Restore([1, -1, 2, 0.5, 0.1]));
        Assert.Throws<ArgumentException>(() => e.Restore([2, -1, 0]));
    }
}
