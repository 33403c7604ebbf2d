using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class TrafficShapeTests
{
    private static readonly TrafficShape Bursts = new() { Name = "bursts", Kind = "bursts", OnSeconds = 60, OffSeconds = 240 };
    private static readonly TrafficShape Diurnal = new() { Name = "diurnal", Kind = "diurnal", PeriodSeconds = 3600, Amplitude = 0.8 };

    [Theory]
    [InlineData(0.0)]
    [InlineData(37.0)]
    [InlineData(299.0)]
    public void Bursts_average_to_one_over_a_period_and_are_off_between_bursts(double phase)
    {
        var ticks = Enumerable.Range(0, 300).Select(k => Bursts.MeanMultiplier(k, 1, phase)).ToList();
        Assert.Equal(1.0, ticks.Average(), 9);
        Assert.Equal(60, ticks.Count(m => m > 0));
        Assert.All(ticks.Where(m => m > 0), m => Assert.Equal(5.0, m, 9));
        // A tick cut by a burst edge gets the integral, not a sample.
        Assert.Equal(2.5, Bursts.MeanMultiplier(59, 2, 0), 9);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.3)]
    [InlineData(4.0)]
    public void Diurnal_averages_to_one_over_a_period_and_swings_by_its_amplitude(double phase)
    {
        var ticks = Enumerable.Range(0, 360).Select(k => Diurnal.MeanMultiplier(k * 10, 10, phase)).ToList();
        Assert.Equal(1.0, ticks.Average(), 9);
        Assert.InRange(ticks.Max(), 1.79, 1.8);
        Assert.InRange(ticks.Min(), 0.2, 0.21);
    }

    [Theory]
    [InlineData("bursts")]
    [InlineData("diurnal")]
    [InlineData("constant")]
    public void Simulated_traffic_keeps_the_mean_rate_over_replicates(string kind)
    {
        var shape = kind switch { "bursts" => Bursts, "diurnal" => Diurnal, _ => new TrafficShape() };
        var s = new ScenarioFile { TickSeconds = 10, P0 = 0.01 };
        // 400 replicates of 30 minutes at 20 rps: each draws its phase, so the mean over replicates is 20 rps.
        long total = 0;
        for (var r = 0; r < 400; r++)
        {
            var traffic = new TrafficModel(s, new Cell("t", "binomial", 20, 0.05, new FaultSpec(), null, null, shape), new Rng(Rng.Derive(3, 0, r)));
            for (var k = 0; k < 180; k++) traffic.Next(k * 10);
            total += traffic.Total;
        }
        var rate = total / (400.0 * 1800);
        Assert.InRange(rate, 19.0, 21.0);
    }
}
