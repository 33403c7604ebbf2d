using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>Issue #29 item 1: persistent pod rate states with random phase and durations, and pod-to-pod heterogeneity.</summary>
public class PodRateStatesTests
{
    private static (double Mean, double Cv) MeanCv(IReadOnlyList<double> xs)
    {
        var mean = xs.Average();
        var sd = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1));
        return (mean, sd / mean);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void States_have_mean_one_the_asked_pod_to_pod_cv_and_durations_between_the_bounds(double cv)
    {
        var states = new PodRateStates(10, cv, 30, 600, new Rng(29)) { History = new() };
        for (var t = 0; t < 200_000; t += 10)
            for (var pod = 0; pod < states.Pods; pod++) states.MeanOver(pod, t, 10);
        var h = states.History!;
        Assert.True(h.Count > 5000, $"{h.Count} states");
        var (mean, sampleCv) = MeanCv(h.Select(x => x.Multiplier).ToList());
        Assert.InRange(mean, 0.95, 1.05);
        Assert.InRange(sampleCv, cv * 0.93, cv * 1.07);
        Assert.All(h, x => Assert.InRange(x.DurationSeconds, 30, 600));
        // Log-uniform durations: the mean log duration is the midpoint of the logs of the bounds.
        Assert.InRange(h.Average(x => Math.Log(x.DurationSeconds)), (Math.Log(30) + Math.Log(600)) / 2 - 0.05, (Math.Log(30) + Math.Log(600)) / 2 + 0.05);
        // Random phase: state changes fall anywhere, not on a window grid (about 1 in 60 would sit on a whole minute by chance of 1 s rounding).
        Assert.True(h.Count(x => Math.Abs(x.StartSeconds / 60 - Math.Round(x.StartSeconds / 60)) < 1e-6) < h.Count / 100);
    }

    [Fact]
    public void A_tick_that_spans_a_state_change_gets_the_time_weighted_mean()
    {
        var states = new PodRateStates(1, 1.0, 30, 30, new Rng(3)) { History = new() };
        // Durations are exactly 30 s: over 300 s the time-weighted mean equals the mean of the ten or eleven states in force.
        var perSecond = Enumerable.Range(0, 300).Select(t => states.MeanOver(0, t, 1)).ToList();
        var fresh = new PodRateStates(1, 1.0, 30, 30, new Rng(3));
        var perTenSeconds = Enumerable.Range(0, 30).Select(k => fresh.MeanOver(0, 10 * k, 10)).ToList();
        for (var k = 0; k < 30; k++)
            Assert.Equal(perSecond.Skip(10 * k).Take(10).Average(), perTenSeconds[k], 9);
    }

    [Fact]
    public void Bad_inputs_name_the_field()
    {
        Assert.Contains("rateCv", Assert.Throws<ArgumentException>(() => new PodRateStates(3, 0, 30, 600, new Rng(1))).Message);
        Assert.Contains("rateStateMinSeconds", Assert.Throws<ArgumentException>(() => new PodRateStates(3, 0.5, 600, 30, new Rng(1))).Message);
    }

    private const string Persistent = """
        name: persistent
        seed: 7
        tMaxSeconds: 36000
        p0: 0.01
        tickSeconds: 10
        rps: [2000]
        weights: [0.3]
        podsStable: 7
        podsCanary: 3
        faults: [{ name: A/A }]
        environments:
          - name: states
            rateCv: 1.0
            rateStateMinSeconds: 30
            rateStateMaxSeconds: 600
          - name: grid
            rateCv: 1.0
            ratePeriodSeconds: 60
        """;

    /// <summary>The canary's failure ratio per one-minute window over a long replicate (high traffic: binomial noise is small).</summary>
    private static List<double> MinuteRatios(string environment)
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, Persistent);
        var s = ScenarioFile.Load(path);
        File.Delete(path);
        var cell = s.Cells().Single(c => c.Environment!.Name == environment);
        var traffic = new TrafficModel(s, cell, new Rng(11));
        var ratios = new List<double>();
        long n = 0, x = 0;
        for (var k = 0; k < s.TMaxSeconds / s.TickSeconds; k++)
        {
            var tick = traffic.Next(k * s.TickSeconds);
            n += tick.Nc; x += tick.Xc;
            if ((k + 1) % 6 != 0) continue;
            ratios.Add((double)x / n);
            n = x = 0;
        }
        return ratios;
    }

    private static double Lag1Correlation(IReadOnlyList<double> xs)
    {
        var mean = xs.Average();
        var num = Enumerable.Range(1, xs.Count - 1).Sum(i => (xs[i] - mean) * (xs[i - 1] - mean));
        return num / xs.Sum(x => (x - mean) * (x - mean));
    }

    [Fact]
    public void Persistent_states_carry_a_pods_rate_across_windows_where_grid_redraws_do_not()
    {
        var states = MinuteRatios("states");
        var grid = MinuteRatios("grid");
        // Three canary pods at CV 1: the canary's rate varies from window to window either way (CV about 1/sqrt(3))...
        Assert.InRange(MeanCv(states).Cv, 0.3, 0.9);
        Assert.InRange(MeanCv(grid).Cv, 0.3, 0.9);
        // ...but only persistent states make one window's rate predict the next (states last 30 s to 10 min).
        Assert.True(Lag1Correlation(states) > 0.4, $"lag-1 correlation with states {Lag1Correlation(states):0.00}");
        Assert.InRange(Lag1Correlation(grid), -0.1, 0.1);
        Assert.InRange(states.Average(), 0.009, 0.011);
    }
}

public class EnvironmentPodsTests
{
    [Fact]
    public void An_environment_sets_its_own_pod_counts()
    {
        var s = new ScenarioFile
        {
            TickSeconds = 10, Rps = [200], Weights = [0.1], Routing = ["pods"], ConnectionLifetimeSeconds = 0, PodsStable = 9, PodsCanary = 1,
            Faults = [new FaultSpec()], Environments = [new EnvironmentSpec { Name = "three", PodsStable = 7, PodsCanary = 3 }],
        };
        var traffic = new TrafficModel(s, s.Cells().Single(), new Rng(1));
        for (var k = 0; k < 360; k++) traffic.Next(k * 10);
        Assert.InRange((double)traffic.CanaryTotal / traffic.Total, 0.29, 0.31);
    }
}
