using Kubestead.Analysis;
using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>
/// Issue #29: the control's history before t = 0 (<see cref="SimulatedControlHistory"/>) and the engines that learn from
/// it: the same stable pods and pod-state process as the rollout, its own generator, and the step judges keeping what
/// was learned.
/// </summary>
public class ControlHistoryTests
{
    private static (ScenarioFile S, Cell Cell) Scenario(double rps, EnvironmentSpec environment, WeightSchedule? schedule = null)
    {
        var s = new ScenarioFile
        {
            TickSeconds = 5, Rps = [rps], Weights = [0.25], P0 = 0.01, Faults = [new FaultSpec()], Environments = [environment],
            Schedules = [schedule ?? new WeightSchedule()],
        };
        return (s, s.Cells().Single());
    }

    private static EnvironmentSpec Scraped(double cv = 0, double stateSeconds = 0) => new()
    {
        Name = "scraped", RateCv = cv, RateStateMinSeconds = stateSeconds, RateStateMaxSeconds = stateSeconds,
        Scrape = new ScrapeSpec { IntervalSeconds = 15 }, PodsStable = 9, PodsCanary = 1,
    };

    [Fact]
    public void The_history_is_the_stable_pods_alone_in_whole_windows_ending_at_the_rollouts_start()
    {
        var (s, cell) = Scenario(200, Scraped());
        var traffic = new TrafficModel(s, cell, new Rng(1), 2);
        var windows = traffic.ControlHistory!.Windows(3600, 15);
        Assert.Equal(240, windows.Count);
        Assert.Equal(DateTimeOffset.UnixEpoch, windows[^1].End);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddHours(-1), windows[0].Start);
        Assert.All(windows, w => Assert.Equal(VersionSample.Empty, w.Canary));
        // The rollout's own stable series (the pod label), so the learners pair history windows with the rollout's.
        Assert.Equal(traffic.Scraped!.LiveStablePodNames, windows[0].Control.Pods!.Select(p => p.Pod));
        // All traffic on stable at the cell's rate and p0.
        Assert.InRange(windows.Average(w => w.Control.Requests), 200 * 15 * 0.97, 200 * 15 * 1.03);
        Assert.InRange((double)windows.Sum(w => w.Control.Failures) / windows.Sum(w => w.Control.Requests), 0.009, 0.011);
        // Longer windows are whole scrape intervals of the same draws.
        var minutes = traffic.ControlHistory.Windows(3600, 60);
        Assert.Equal(60, minutes.Count);
        Assert.Equal(windows.TakeLast(4).Sum(w => w.Control.Failures), minutes[^1].Control.Failures);
    }

    [Fact]
    public void Drawing_the_history_leaves_the_rollouts_traffic_as_it_was()
    {
        var (s, cell) = Scenario(200, Scraped(1.0, 600));
        var with = new TrafficModel(s, cell, new Rng(5), 9);
        var without = new TrafficModel(s, cell, new Rng(5), 9);
        with.ControlHistory!.Windows(6 * 3600, 15);
        for (var k = 0; k < 100; k++)
        {
            var (a, b) = (with.Next(k * 5), without.Next(k * 5));
            Assert.Equal((a.Nc, a.Xc, a.Ns, a.Xs), (b.Nc, b.Xc, b.Ns, b.Xs));
        }
    }

    [Fact]
    public void The_pods_states_at_the_start_reach_back_into_the_history()
    {
        // States of exactly 10 minutes: each pod's state at t = 0 began BeganSeconds ago; over that stretch of history the
        // pod fails at p0 times that state's multiplier (the same process, continued backwards).
        var (s, cell) = Scenario(20_000, Scraped(1.0, 600));
        var traffic = new TrafficModel(s, cell, new Rng(11), 3);
        var history = traffic.ControlHistory!.Windows(600, 15);
        var states = traffic.StableStatesAtStart!;
        var checkedPods = 0;
        for (var pod = 0; pod < states.Count; pod++)
        {
            var age = -states[pod].BeganSeconds;
            if (age < 120) continue;
            var recent = history.TakeLast((int)(age / 15)).Select(w => w.Control.Pods![pod]).ToList();
            var rate = (double)recent.Sum(p => p.Failures) / recent.Sum(p => p.Requests);
            Assert.InRange(rate / (0.01 * states[pod].Multiplier), 0.85, 1.15);
            checkedPods++;
        }
        Assert.True(checkedPods >= 3, $"only {checkedPods} pods' states began 2 minutes or more before the start");
    }

    /// <summary>The Pass band of the step judge's third window (the first two scraped windows start before a series' first scrape).</summary>
    private static double EarlyPassBand(string engine)
    {
        var (s, cell) = Scenario(200, Scraped());
        var traffic = new TrafficModel(s, cell, new Rng(21), 4);
        var policy = (KubesteadRolloutPolicy)EngineRegistry.Create(engine, s, cell, traffic.Scraped, history: traffic.ControlHistory);
        for (var k = 0; policy.CountedWindows < 3; k++) policy.OnTick(traffic.Next(k * 5.0));
        return ((SequentialCountJudge)policy.StepJudgesNow[0]).PassPodAllowance;
    }

    [Fact]
    public void The_default_engine_learns_an_hour_of_history_before_its_first_windows_and_the_nohistory_engine_none()
    {
        var (cold, primed) = (EarlyPassBand(SpecDefaultVariant.NoHistoryName), EarlyPassBand(SpecDefaultVariant.Name));
        Assert.True(cold > 3, $"without history the band after two learned windows is {cold:0.00}");
        Assert.True(primed < 1.6, $"the default engine's early window did not use the history: band {primed:0.00}");
        Assert.Contains("look-back", Assert.Throws<ArgumentException>(() => EngineRegistry.Create("default-lookback-x", Scenario(200, Scraped()).S)).Message);
    }

    [Fact]
    public void The_failz_engines_set_the_fail_bands_width_once_a_history_is_learned_and_refuse_a_bad_number()
    {
        // Issue #29, round 10: default-failz-2 is round 9's judge (the Fail band at 2 log-sigmas with history), the
        // committed results' comparison column; the product's default reads PodPersistence.HistoryZ.
        var s = Scenario(200, Scraped()).S;
        Assert.Equal(2.0, SpecDefaultVariant.TryCreate("default-failz-2", 15)!.FailZ);
        Assert.Null(SpecDefaultVariant.TryCreate(SpecDefaultVariant.Name, 15)!.FailZ);
        foreach (var bad in new[] { "default-failz-x", "default-failz-0", "default-failz--1" })
            Assert.Contains("log-sigmas", Assert.Throws<ArgumentException>(() => EngineRegistry.Create(bad, s)).Message);
    }

    [Fact]
    public void A_new_step_keeps_what_the_background_learned_during_the_step_before()
    {
        // A one-minute pause, then an analysis step: the pause's windows feed only the background judge; the analysis
        // step's judges start with its learners (fresh evidence), not with the Pass band at its cap.
        var schedule = new WeightSchedule
        {
            Name = "pause-then-analysis", Steps = [new ScheduleStep { Weight = 0.25, PauseSeconds = 300 }, new ScheduleStep { Weight = 0.25 }],
        };
        var (s, cell) = Scenario(200, Scraped(), schedule);
        var traffic = new TrafficModel(s, cell, new Rng(31), 6);
        var policy = (KubesteadRolloutPolicy)EngineRegistry.Create(SpecDefaultVariant.NoHistoryName, s, cell, traffic.Scraped, history: traffic.ControlHistory);
        var k = 0;
        for (; policy.Step == 0; k++) policy.OnTick(traffic.Next(k * 5.0));
        var counted = policy.CountedWindows;
        for (; policy.CountedWindows == counted; k++) policy.OnTick(traffic.Next(k * 5.0));
        var judge = (SequentialCountJudge)policy.StepJudgesNow[0];
        var cap = new PodPersistence().PassAllowance(1, 9, controlReportsPods: true);
        Assert.True(judge.PassPodAllowance < cap / 2, $"the analysis step's first window used a Pass band of {judge.PassPodAllowance:0.00} (cap {cap:0.00})");
        Assert.True(judge.Evaluate().CanaryRequests < 200 * 0.25 * 20, "the new step's evidence must be its own");
    }
}
