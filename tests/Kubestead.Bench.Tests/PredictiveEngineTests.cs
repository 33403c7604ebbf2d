using Kubestead.Analysis;
using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>
/// Issue #29 (round 7): the experimental engines <c>default-predictive</c> and <c>default-predictive-N</c> run the
/// product's default with the predictive canary-pod null (<see cref="SequentialJudgeOptions.PredictivePodSeconds"/>).
/// </summary>
public class PredictiveEngineTests
{
    private static (ScenarioFile S, Cell Cell) Scenario()
    {
        var environment = new EnvironmentSpec
        {
            Name = "scraped", Scrape = new ScrapeSpec { IntervalSeconds = 15 }, PodsStable = 9, PodsCanary = 1,
        };
        var s = new ScenarioFile
        {
            TickSeconds = 5, Rps = [20], Weights = [0.05], P0 = 0.01, Faults = [new FaultSpec()], Environments = [environment],
            Schedules = [new WeightSchedule()],
        };
        return (s, s.Cells().Single());
    }

    /// <summary>The step judge's Fail allowance after ten counted windows of identical pods, with an hour of history.</summary>
    private static double FailAllowance(string engine)
    {
        var (s, cell) = Scenario();
        var traffic = new TrafficModel(s, cell, new Rng(41), 3);
        var policy = (KubesteadRolloutPolicy)EngineRegistry.Create(engine, s, cell, traffic.Scraped, history: traffic.ControlHistory);
        for (var k = 0; policy.CountedWindows < 10; k++) policy.OnTick(traffic.Next(k * 5.0));
        return ((SequentialCountJudge)policy.StepJudgesNow[0]).PodAllowance;
    }

    [Fact]
    public void The_predictive_engines_drop_the_band_where_pods_are_alike_and_the_default_keeps_it()
    {
        var band = FailAllowance(SpecDefaultVariant.Name);
        Assert.True(band > 1.05, $"the default engine's Fail allowance {band:0.000} (the band the experiment replaces)");
        Assert.Equal(1, FailAllowance(SpecDefaultVariant.PredictivePrefix), 2);
        Assert.Equal(1, FailAllowance(SpecDefaultVariant.PredictivePrefix + "-120"), 2);
    }

    [Theory]
    [InlineData("default-predictive-x")]
    [InlineData("default-predictive-0")]
    [InlineData("default-predictive120")]
    public void A_predictive_engine_name_without_a_positive_persistence_is_refused_naming_it(string engine)
    {
        var (s, cell) = Scenario();
        var e = Assert.Throws<ArgumentException>(() => EngineRegistry.Create(engine, s, cell));
        Assert.Contains(engine, e.Message);
        Assert.Contains("persistence", e.Message);
    }
}
