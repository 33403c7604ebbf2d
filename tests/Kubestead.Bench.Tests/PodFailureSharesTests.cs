using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class PodFailureSharesTests
{
    [Fact]
    public void Each_scraped_pods_failures_follow_its_own_rate_multiplier()
    {
        // Nine stable pods at pod-to-pod CV 1.0 whose rate states outlast the run, so each pod's multiplier is fixed.
        var s = new ScenarioFile
        {
            TickSeconds = 5, P0 = 0.01, Rps = [2000], Weights = [0.1], Routing = ["binomial"], PodsStable = 9, PodsCanary = 1,
            Faults = [new FaultSpec()],
            Environments =
            [
                new EnvironmentSpec
                {
                    Name = "fixed-states", RateCv = 1.0, RateStateMinSeconds = 1e7, RateStateMaxSeconds = 1e7,
                    Scrape = new ScrapeSpec { IntervalSeconds = 15 },
                },
            ],
        };
        var traffic = new TrafficModel(s, s.Cells().Single(), new Rng(29));
        for (var t = 0; t < 3600; t += 5) traffic.Next(t);
        var rates = traffic.StablePodRates;
        var pods = traffic.Scraped!.Window(600, 3000).Control.Pods!;
        Assert.Equal(9, pods.Count);
        // Scraped series are created stable after canary: the i-th stable sample is the i-th stable pod.
        for (var i = 0; i < 9; i++)
        {
            var expected = 0.01 * rates[i] * pods[i].Requests;
            Assert.True(Math.Abs(pods[i].Failures - expected) <= 5 * Math.Sqrt(expected) + 1,
                $"pod {i}: {pods[i].Failures} failures of {pods[i].Requests} requests at multiplier {rates[i]:0.###} (expected {expected:0})");
        }
        // The pods differ: a share proportional to requests (all about 1/9) would not pass the checks above.
        Assert.True(rates.Max() / rates.Min() > 3, $"multipliers {string.Join(", ", rates.Select(r => r.ToString("0.##")))}");
    }
}
