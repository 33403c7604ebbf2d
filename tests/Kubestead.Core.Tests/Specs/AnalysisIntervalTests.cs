using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

/// <summary>Issue #29 item 4: the analysis interval follows the metrics' scrape interval and is never below it.</summary>
public class AnalysisIntervalTests
{
    private static SpecParseResult Parse(string analysisFields) =>
        RolloutSpecParser.Parse(Kubestead.Core.Tests.Analysis.BackgroundOffAlphaTests.Spec(background: true, analysisSteps: 1, analysisFields));

    [Theory]
    [InlineData("", 60)]                                  // no scrape interval given: one minute, Prometheus's own default scrape interval
    [InlineData("    scrapeInterval: 15s", 15)]           // windows as short as a scrape, no shorter
    [InlineData("    scrapeInterval: 30s", 30)]
    [InlineData("    scrapeInterval: 2s", 5)]             // never below the 5 s minimum
    [InlineData("    scrapeInterval: 15s\n    interval: 45s", 45)]
    [InlineData("    scrapeInterval: 30s\n    interval: 30s", 30)]
    public void The_default_interval_is_the_scrape_interval_and_an_explicit_one_is_kept(string fields, int seconds)
    {
        var result = Parse(fields);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(TimeSpan.FromSeconds(seconds), result.Spec!.Analysis!.Interval);
    }

    [Fact]
    public void The_scrape_interval_is_kept_in_the_spec()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), Parse("    scrapeInterval: 15s").Spec!.Analysis!.ScrapeInterval);
        Assert.Null(Parse("").Spec!.Analysis!.ScrapeInterval);
    }

    [Fact]
    public void A_scrape_interval_that_is_not_a_positive_duration_is_refused_naming_the_field()
    {
        var result = Parse("    scrapeInterval: 0s");
        Assert.False(result.IsValid);
        Assert.Contains(result.Problems, p => p.Field == "spec.analysis.scrapeInterval");
    }
}
