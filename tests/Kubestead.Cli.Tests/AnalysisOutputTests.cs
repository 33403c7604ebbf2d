using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

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
    [Fact]
    public void Status_shows_where_the_warm_up_started_and_when_it_waits_for_the_canary_pods()
    {
        var started = Result(warmingUp: true, []) with { WarmupFrom = T0.AddMinutes(1) };
        Assert.Contains("Analysis: warm-up until 2026-01-01 09:02:00Z (from 2026-01-01 09:01:00Z; 6 window(s) not judged)", OutputFormat.Text(started));
        var doc = OutputFormat.RolloutDocument(started);
        Assert.Equal(T0.AddMinutes(1), DateTimeOffset.Parse(doc["warmup"]!["from"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(doc["warmup"]!["awaitingReady"]!.GetValue<bool>());

        var waiting = Result(warmingUp: true, []) with { WarmupAwaitingReady = true, WarmupRestarts = 1 };
        Assert.Contains("Analysis: warm-up waiting for the canary's pods to be ready (6 window(s) not judged)", OutputFormat.Text(waiting));
        var waitingDoc = OutputFormat.RolloutDocument(waiting);
        Assert.True(waitingDoc["warmup"]!["awaitingReady"]!.GetValue<bool>());
        Assert.Null(waitingDoc["warmup"]!["from"]);
        Assert.Equal(1, waitingDoc["warmup"]!["restarts"]!.GetValue<int>());
    }

    [Fact]
    public async Task Analyze_shows_the_step_and_the_background_verdicts_of_a_sandbox_rollout_in_text_and_json()
    {
        // The demo's rollout (background analysis on by default), stopped by a manual pause after a 20% analysis step.
        var env = Kubestead.Sandbox.Demo.SandboxEnvironment.Create("istio", "healthy");
        var demo = File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "istio.yaml"));
        var steps = demo.IndexOf("  steps:\n", StringComparison.Ordinal);
        var analysis = demo.IndexOf("  analysis:\n", StringComparison.Ordinal);
        var spec = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(spec, demo[..steps] + "  steps:\n    - setWeight: 20\n    - analysis:\n        duration: 2m\n    - pause: {}\n" + demo[analysis..]);
        try
        {
            Assert.Equal(4, (await InProcessCli.RunAsync(env, "start", "-f", spec)).Code);

            var json = await InProcessCli.RunAsync(env, "analyze", "shop", "-n", "shop", "-o", "json");
            var doc = JsonNode.Parse(json.Out)!;
            var step = doc["analysis"]!.AsArray().Single()!;
            var background = doc["background"]!.AsArray().Single()!;
            Assert.Equal("step", step["scope"]!.GetValue<string>());
            Assert.Equal("background", background["scope"]!.GetValue<string>());
            Assert.Equal("error-rate", background["metric"]!.GetValue<string>());
            // The background e-process counted every window of the rollout; the step judge only its own step's.
            Assert.True(background["canaryRequests"]!.GetValue<long>() >= step["canaryRequests"]!.GetValue<long>());
            Assert.True(background["canaryRequests"]!.GetValue<long>() > 0);

            var text = await InProcessCli.RunAsync(env, "analyze", "shop", "-n", "shop");
            Assert.Contains("Background analysis (whole rollout; a Fail aborts):", text.Out);
            Assert.Equal(2, text.Out.Split('\n').Count(l => l.StartsWith("error-rate", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(spec);
        }
    }
}
