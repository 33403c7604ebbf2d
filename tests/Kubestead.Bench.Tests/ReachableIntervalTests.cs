using Kubestead.Bench.CanarySim;
using Kubestead.Specs;

namespace Kubestead.Bench.Tests;

/// <summary>Issue #29 item 1: windows never shorter than a scrape nor the spec's minimum, except labelled limit rows.</summary>
public class ReachableIntervalTests
{
    private static (ScenarioFile S, Cell Cell) Scraped(double scrapeSeconds, params EngineVariant[] variants)
    {
        var s = new ScenarioFile
        {
            TickSeconds = 5, Rps = [20], Weights = [0.1], Faults = [new FaultSpec()], EngineVariants = variants.ToList(),
            Environments = [new EnvironmentSpec { Name = "scraped", Scrape = new ScrapeSpec { IntervalSeconds = scrapeSeconds } }],
        };
        return (s, s.Cells().Single());
    }

    [Fact]
    public void A_window_shorter_than_a_scrape_is_refused_naming_the_variant_and_the_scrape_interval()
    {
        var (s, cell) = Scraped(30, new EngineVariant { Name = "ks-15s", IntervalSeconds = 15 });
        var e = Assert.Throws<ArgumentException>(() => EngineRegistry.Create("ks-15s", s, cell));
        Assert.Contains("ks-15s", e.Message);
        Assert.Contains("scrape interval (30 s)", e.Message);
    }

    [Fact]
    public void A_window_as_long_as_a_scrape_runs_and_a_labelled_limit_row_runs_below_it()
    {
        var (s, cell) = Scraped(30, new EngineVariant { Name = "ks-30s", IntervalSeconds = 30 }, new EngineVariant { Name = "ks-5s", IntervalSeconds = 5, Limit = true });
        Assert.Equal("ks-30s", EngineRegistry.Create("ks-30s", s, cell).Name);
        Assert.Equal("ks-5s", EngineRegistry.Create("ks-5s", s, cell).Name);
    }

    [Fact]
    public void A_one_second_interval_is_refused_unless_labelled_limit()
    {
        var s = new ScenarioFile { TickSeconds = 1, Rps = [20], Weights = [0.1], Faults = [new FaultSpec()], EngineVariants = [new EngineVariant { Name = "ks-1s", IntervalSeconds = 1 }] };
        Assert.Contains("minimum of 5 s", Assert.Throws<ArgumentException>(() => EngineRegistry.Create("ks-1s", s, s.Cells().Single())).Message);
        s.EngineVariants[0].Limit = true;
        var results = Runner.Run(s, ["ks-1s"], replicates: 2);
        Assert.Contains("ks-1s (limit)", Report.Markdown(s, results, ["ks-1s"], 2, 1, TimeSpan.Zero));
    }

    [Fact]
    public void The_oracle_window_is_never_shorter_than_a_scrape()
    {
        var (s, cell) = Scraped(30);
        s.Oracle = new OracleSpec { IntervalSeconds = 15 };
        Assert.Contains("shorter than the scrape interval", Assert.Throws<ArgumentException>(() => EngineRegistry.Create("oracle", s, cell, oracleThreshold: 5)).Message);
    }

    [Theory]
    [InlineData(15)]
    [InlineData(30)]
    public void The_default_engine_runs_at_the_interval_the_product_resolves_from_the_scrape_interval(double scrapeSeconds)
    {
        // What the product gives a spec whose metrics are scraped this often and whose interval is not given: the parser's
        // default when the spec declares the scrape interval (the drive reads the same from Prometheus's targets).
        var product = RolloutSpecParser.Parse($$"""
            apiVersion: kubestead.io/v1alpha1
            kind: Rollout
            metadata: { name: shop, namespace: shop }
            spec:
              service: shop
              meshProvider: linkerd
              linkerd: { canaryService: shop-canary }
              stable: { deployment: shop }
              canary: { image: shop:2 }
              steps: [{ setWeight: 10 }]
              analysis:
                scrapeInterval: {{scrapeSeconds}}s
                metrics: [{ name: errors, provider: { prometheus: { address: "http://127.0.0.1:9090" } } }]
            """).Spec!.Analysis!.Interval;
        Assert.Equal(TimeSpan.FromSeconds(scrapeSeconds), product);
        Assert.Equal(product, SpecDefaultVariant.Resolve(scrapeSeconds).Interval);
        var (s, cell) = Scraped(scrapeSeconds);
        var policy = (KubesteadRolloutPolicy)EngineRegistry.Create(SpecDefaultVariant.Name, s, cell);
        SyntheticTicks.Drive(policy, ticks: 24, tickSeconds: 5, (t, w) => SyntheticTicks.Make(t, w, 0, 0));
        // 120 s of ticks: one window per resolved interval (not 60 s windows, the parser's default without a scrape).
        Assert.Equal((int)(120 / product.TotalSeconds), policy.CountedWindows);
        Assert.Equal(product.TotalSeconds, OracleCalibration.IntervalSeconds(s, cell));
    }

    [Fact]
    public void Without_a_scrape_interval_the_default_engine_and_the_oracle_keep_the_parsers_one_minute()
    {
        var s = new ScenarioFile { TickSeconds = 5, Rps = [20], Weights = [0.1], Faults = [new FaultSpec()] };
        Assert.Equal(60, SpecDefaultVariant.Create().IntervalSeconds);
        Assert.Equal(60, OracleCalibration.IntervalSeconds(s, s.Cells().Single()));
    }
}
