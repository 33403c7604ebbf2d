using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Rollouts;

namespace Kubestead.Cli.Tests;

/// <summary>The warm-up state and the background verdicts in `kubestead status` (text and -o json).</summary>
public class AnalysisOutputTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private static RolloutResult Result(bool warmingUp, IReadOnlyList<Verdict> background) =>
        new("shop", "shop", RolloutPhase.Progressing, null, "weight 5%", "istio", 2, 9, "analysis until verdict", 95, 5,
            Array.Empty<Verdict>(), Array.Empty<RolloutHistoryEntry>(), T0, T0.AddMinutes(1), null, "demo")
        {
            WarmingUp = warmingUp,
            WarmupUntil = T0.AddMinutes(2),
            WarmupWindows = 6,
            BackgroundVerdicts = background,
        };

    private static readonly Verdict Failing = new("sequential", "error-rate", VerdictOutcome.Fail, 500, 25, 4500, 5, 4.2, 0.01, 80, 45,
        "canary failure rate 5% is worse than control");

    [Fact]
    public void Json_shows_the_warm_up_and_the_background_verdicts()
    {
        var doc = OutputFormat.RolloutDocument(Result(warmingUp: true, [Failing]));
        Assert.Equal("warm-up", doc["analysisState"]!.GetValue<string>());
        Assert.True(doc["warmup"]!["active"]!.GetValue<bool>());
        Assert.Equal(6, doc["warmup"]!["windows"]!.GetValue<int>());
        Assert.Equal(T0.AddMinutes(2), DateTimeOffset.Parse(doc["warmup"]!["until"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        var bg = doc["background"]!.AsArray().Single()!;
        Assert.Equal("fail", bg["outcome"]!.GetValue<string>());
        Assert.Equal(80, bg["eValue"]!.GetValue<double>());

        var after = OutputFormat.RolloutDocument(Result(warmingUp: false, [Failing]));
        Assert.Equal("analysing", after["analysisState"]!.GetValue<string>());
        Assert.False(after["warmup"]!["active"]!.GetValue<bool>());
    }

    [Fact]
    public void Text_says_warm_up_and_lists_the_background_verdicts()
    {
        var text = OutputFormat.Text(Result(warmingUp: true, [Failing]));
        Assert.Contains("Analysis: warm-up until 2026-01-01 09:02:00Z (6 window(s) not judged)", text);
        Assert.Contains("Background analysis (whole rollout; a Fail aborts):", text);
        Assert.Contains("error-rate", text);
        var quiet = OutputFormat.Text(Result(warmingUp: false, []));
        Assert.DoesNotContain("warm-up", quiet);
        Assert.DoesNotContain("Background analysis", quiet);
    }
}
