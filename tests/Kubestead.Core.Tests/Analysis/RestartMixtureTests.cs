using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>The background test as a mixture of e-processes restarted on a schedule (issue #12).</summary>
public class RestartMixtureTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly RestartMixtureOptions EveryMinute = new(TimeSpan.FromMinutes(1), 0.5, TimeSpan.FromMinutes(12), 0.25);

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
        // two failures a window on average, 2,000 ten-second windows (5.5 hours, 333 starts, most of them after the plan).
        var rng = new Random(12);
        const int replicates = 1000;
        var threshold = SequentialCountJudge.DecisionThreshold(new SequentialJudgeOptions());
        var alarms = 0;
        for (var r = 0; r < replicates; r++)
        {
            var e = new RestartMixtureEProcess(new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]), EveryMinute);
            for (var i = 0; i < 2000; i++)
            {
                e.StartDue(T0 + i * Window);
                var m = Poisson(rng, 2);
                var xc = Binomial(rng, m, 0.2);
                e.Observe(200, xc, 800, m - xc);
                if (e.EValue >= threshold) { alarms++; break; }
            }
        }
        output.WriteLine($"false alarms: {alarms} of {replicates}");
        // Ville: P(ever >= 2/α) <= α/2 = 2.5%.
        Assert.True(alarms <= replicates * 0.025, $"{alarms} of {replicates}");
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
        // 200 windows of 10 s with a restart a minute: 34 starts, kept as one running sum per alternative (3) after
        // version, origin, next start and the weight started.
        var fail = (JsonArray)original.SaveState()["fail"]!;
        Assert.Equal(4 + 3, fail.Count);
        Assert.Equal(34, (long)fail[2]!.GetValue<double>());
    }

    [Fact]
    public void A_restored_mixture_starts_its_components_in_the_same_windows_when_window_times_carry_fractions_of_a_millisecond()
    {
        var start = T0 + TimeSpan.FromTicks(6_000); // 0.6 ms past the second
        var original = new RestartMixtureEProcess(new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
        original.StartDue(start);
        original.Observe(100, 2, 900, 5);
        var restored = new RestartMixtureEProcess(new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
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
        var e = new RestartMixtureEProcess(new WindowBettingEProcess(1, [5], BettingSide.Above), o);
        Assert.Equal(1, e.EValue, 12);
        e.StartDue(T0);
        Assert.Equal(1, e.EValue, 12);
        var sum = 0.0;
        for (var k = 0; k < 100_000; k++) sum += o.Weight(k);
        Assert.Equal(1 - o.WeightFrom(100_000), sum, 9);
        Assert.True(o.WeightFrom(100_000) < 1e-3);
        // Equal inside the plan (60 starts of 30 s in 30 minutes), then decreasing.
        Assert.All(Enumerable.Range(2, (int)o.PlannedStarts - 1), k => Assert.Equal(o.Weight(1), o.Weight(k), 12));
        Assert.All(Enumerable.Range((int)o.PlannedStarts + 1, 500), k => Assert.True(o.Weight(k) <= o.Weight(k - 1) && o.Weight(k) > 0));
        Assert.Equal((1 - o.FirstWeight) * (1 - o.TailWeight), o.WeightFrom(1) - o.WeightFrom(o.PlannedStarts + 1), 12);
    }

    [Fact]
    public void Starts_missed_in_a_gap_begin_as_one_component_with_their_summed_weight()
    {
        var e = new RestartMixtureEProcess(new WindowBettingEProcess(1, [5], BettingSide.Above), EveryMinute);
        e.StartDue(T0);
        e.Observe(100, 5, 900, 0); // evidence for the first start only
        var before = e.EValue;
        e.StartDue(T0 + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1)); // starts 1..10 were due
        Assert.Equal(11, e.Starts);
        Assert.Equal(before, e.EValue, 12); // a new start is 1 either way: starting it changes nothing
    }

    [Theory]
    [InlineData(0, 0.5, 600, 0.25, "Spacing")]
    [InlineData(60, 0, 600, 0.25, "FirstWeight")]
    [InlineData(60, 1, 600, 0.25, "FirstWeight")]
    [InlineData(60, 0.5, 0, 0.25, "PlannedLength")]
    [InlineData(60, 0.5, 600, 0, "TailWeight")]
    [InlineData(60, 0.5, 600, 1, "TailWeight")]
    public void Options_that_cannot_make_a_valid_mixture_are_rejected_naming_the_field(double seconds, double first, double plannedSeconds, double tail, string field)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new RestartMixtureOptions(TimeSpan.FromSeconds(seconds), first, TimeSpan.FromSeconds(plannedSeconds), tail).Validate());
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void A_state_that_is_not_a_mixture_of_this_e_process_is_rejected()
    {
        var e = new RestartMixtureEProcess(new WindowBettingEProcess(1, [2, 5], BettingSide.Above), EveryMinute);
        Assert.Throws<ArgumentException>(() => e.Restore([1, -1, 2, 0.5, 0.1]));
        Assert.Throws<ArgumentException>(() => e.Restore([2, -1, 0]));
    }

    [Fact]
    public void The_mixture_is_exactly_the_weighted_sum_over_every_start_with_no_cap_and_no_drops()
    {
        // 300 ten-second windows with a start every window: 300 components, each run here on its own.
        var o = new RestartMixtureOptions(Window, 0.5, TimeSpan.FromMinutes(30), 0.25);
        var mixture = new RestartMixtureEProcess(new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]), o);
        var components = new List<(double Weight, WindowBettingEProcess Test)>();
        var rng = new Random(21);
        for (var i = 0; i < 300; i++)
        {
            mixture.StartDue(T0 + i * Window);
            components.Add((o.Weight(i), new WindowBettingEProcess(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45])));
            // Good for 150 windows (every start's wealth drains), then five times worse.
            var (xc, xs) = (Binomial(rng, 100, i < 150 ? 0.01 : 0.05), Binomial(rng, 300, 0.01));
            mixture.Observe(100, xc, 300, xs);
            foreach (var (_, t) in components) t.Observe(100, xc, 300, xs);
            var exact = components.Sum(c => c.Weight * c.Test.EValue) + o.WeightFrom(i + 1);
            Assert.Equal(1, mixture.EValue / exact, 9);
        }
    }

    [Fact]
    public void A_component_list_saved_by_version_1_restores_as_its_exact_weighted_sum()
    {
        var bets = new WindowBettingEProcess(1, [2, 5], BettingSide.Above, [0.5, 0.5]);
        // Two kept components (weights 0.5 and 0.004; log-wealths per alternative) of 7 starts made.
        double[] saved = [1, T0.ToUnixTimeMilliseconds(), 7, 0.5, Math.Log(3), Math.Log(0.5), 0.004, Math.Log(2), Math.Log(4)];
        var e = new RestartMixtureEProcess(bets, EveryMinute);
        e.Restore(saved);
        var kept = 0.5 * (0.5 * 3 + 0.5 * 0.5) + 0.004 * (0.5 * 2 + 0.5 * 4);
        // The dropped starts' weight is spent (their wealth counts as 0); the starts not made yet count 1 each.
        Assert.Equal(kept + EveryMinute.WeightFrom(7), e.EValue, 12);
        Assert.Equal(7, e.Starts);
    }

    [Fact]
    public void The_prior_spread_over_the_plan_catches_late_faults_sooner_than_the_earlier_prior_and_keeps_the_null_bound()
    {
        // A 30-minute plan judged on one-minute windows at 25% weight, 20 rps, p0 = 1%; the fault (5x) begins 10 or 25
        // minutes in. The earlier prior (issue #12): w_0 = 1/2, w_k = (1/2)·60/((k−1+60)(k+60)) for starts every 30 s,
        // computed here in full (the engine also dropped components, which only made it slower).
        var plan = RestartMixtureOptions.ForPlannedLength(TimeSpan.FromMinutes(30));
        static double Earlier(long k) => k == 0 ? 0.5 : 0.5 * 60 / ((k - 1 + 60.0) * (k + 60));
        var minute = TimeSpan.FromMinutes(1);
        var threshold = SequentialCountJudge.DecisionThreshold(new SequentialJudgeOptions());
        WindowBettingEProcess Bets() => new(1, [2, 5, 20], BettingSide.Above, [0.1, 0.45, 0.45]);
        const int replicates = 200;
        foreach (var onset in new[] { 10, 25 })
        {
            var rng = new Random(onset);
            double spread = 0, earlier = 0;
            for (var r = 0; r < replicates; r++)
            {
                var mixture = new RestartMixtureEProcess(Bets(), plan);
                var reference = new List<(double Weight, WindowBettingEProcess Test)>();
                int? spreadAt = null, earlierAt = null;
                for (var i = 0; i < 90 && (spreadAt is null || earlierAt is null); i++)
                {
                    mixture.StartDue(T0 + i * minute);
                    // Two 30-second starts fall due at each one-minute window: one component with their summed weight.
                    reference.Add((i == 0 ? Earlier(0) : Earlier(2 * i - 1) + Earlier(2 * i), Bets()));
                    var (xc, xs) = (Binomial(rng, 300, i < onset ? 0.01 : 0.05), Binomial(rng, 900, 0.01));
                    mixture.Observe(300, xc, 900, xs);
                    foreach (var (_, t) in reference) t.Observe(300, xc, 900, xs);
                    var earlierE = reference.Sum(c => c.Weight * c.Test.EValue) + 0.5 * 60 / (2 * i + 60.0);
                    if (spreadAt is null && mixture.EValue >= threshold) spreadAt = i;
                    if (earlierAt is null && earlierE >= threshold) earlierAt = i;
                }
                // An alarm before the onset is a false one: counted as the whole horizon, so it can only hurt.
                spread += spreadAt is { } s && s >= onset ? s - onset + 1 : 90;
                earlier += earlierAt is { } t2 && t2 >= onset ? t2 - onset + 1 : 90;
            }
            output.WriteLine($"onset {onset} min: windows from onset to Fail, mean: spread over the plan {spread / replicates:0.00}, earlier prior {earlier / replicates:0.00} ({replicates} runs)");
            Assert.True(spread < earlier, $"onset {onset}: spread {spread / replicates:0.00} vs earlier {earlier / replicates:0.00}");
        }

        // The null bound at the least favourable null (failures land on each side with its exposure), two hours: 4x the plan.
        var alarms = 0;
        var aa = new Random(99);
        for (var r = 0; r < 1000; r++)
        {
            var mixture = new RestartMixtureEProcess(Bets(), plan);
            for (var i = 0; i < 120; i++)
            {
                mixture.StartDue(T0 + i * minute);
                var m = Poisson(aa, 3);
                var xc = Binomial(aa, m, 0.25);
                mixture.Observe(300, xc, 900, m - xc);
                if (mixture.EValue >= threshold) { alarms++; break; }
            }
        }
        output.WriteLine($"A/A: {alarms} false alarms in 1000 runs of two hours");
        Assert.True(alarms <= 25, $"{alarms} of 1000");
    }

    [Fact]
    public void The_engines_background_test_spreads_its_prior_over_the_specs_timed_steps()
    {
        // Two analysis steps of 5 minutes: a 10-minute plan.
        var parsed = RolloutSpecParser.Parse(BackgroundOffAlphaTests.Spec(background: true, analysisSteps: 2));
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Problems));
        Assert.Equal(TimeSpan.FromMinutes(10), RuntimeFactory.PlannedLength(parsed.Spec!));
        var runtime = new RuntimeFactory(new EmulatedCluster(), TimeProvider.System, (_, _) => (_, _, _) => throw new NotSupportedException()).Create(parsed.Spec!);
        var engine = runtime.Analysis!.Metrics.Single().Background!;
        var tenMinutes = Judge(RestartMixtureOptions.ForPlannedLength(TimeSpan.FromMinutes(10)));
        var unknown = Judge(RestartMixtureOptions.Default);
        // Control takes every failure for 6 minutes (the early starts drain), then the canary does: judged by starts 12 and later, whose weight the plan sets.
        for (var i = 0; i < 48; i++)
        {
            var w = W(i, 50, i < 36 ? 0 : 3, 150, i < 36 ? 4 : 0);
            engine.Observe(w);
            tenMinutes.Observe(w);
            unknown.Observe(w);
        }
        var e = ((SequentialCountJudge)engine).Evidence.Fail;
        Assert.Equal(tenMinutes.Evidence.Fail, e, 9);
        Assert.True(e > 2 * unknown.Evidence.Fail, $"10-minute plan {e}, unknown plan {unknown.Evidence.Fail}");
    }
}
