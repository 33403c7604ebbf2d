using System.Text.Json.Nodes;
using System.Web;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>
/// Issue #29: when the analysis begins, the runner reads each metric's control history once and its judges learn from
/// it; the learned state goes into the status, so a resumed rollout continues with it and never reads it again.
/// </summary>
public class ControlHistoryPrimingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>A judge that counts the history windows and control requests it learned from, and keeps both in its state.</summary>
    private sealed class LearningJudge(string metric) : ICanaryJudge
    {
        public string Name => "learning";
        public string Metric => metric;
        public int Learned { get; private set; }
        public long LearnedRequests { get; private set; }
        public int Observed { get; private set; }

        public bool LearnsFromHistory => true;

        public void Observe(MetricWindow window) => Observed++;

        public void LearnHistory(MetricWindow window)
        {
            Learned++;
            LearnedRequests += window.Control.Requests;
        }

        public Verdict Evaluate() => new(Name, Metric, VerdictOutcome.InsufficientData, 0, 0, 0, 0, null, null, null, null, "learning");

        public JsonObject SaveState() => new() { ["learned"] = Learned, ["learnedRequests"] = LearnedRequests, ["observed"] = Observed };

        public void RestoreState(JsonObject state) =>
            (Learned, LearnedRequests, Observed) = ((int)state["learned"]!, (long)state["learnedRequests"]!, (int)state["observed"]!);
    }

    /// <summary>A window source that also serves the control's history, counting the reads (or failing them).</summary>
    private sealed class HistorySource(int historyWindows, Exception? failure = null) : IControlHistory
    {
        public List<(DateTimeOffset End, TimeSpan Interval, int Windows)> Reads { get; } = new();

        public Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) =>
            Task.FromResult(new MetricWindow(start, end, new VersionSample(10, 0), new VersionSample(100, 0)));

        public Task<IReadOnlyList<MetricWindow>> ControlHistoryAsync(DateTimeOffset end, TimeSpan interval, int windows, CancellationToken ct)
        {
            Reads.Add((end, interval, windows));
            if (failure is not null) throw failure;
            IReadOnlyList<MetricWindow> history = Enumerable.Range(0, Math.Min(windows, historyWindows))
                .Select(i => new MetricWindow(end - interval * (historyWindows - i), end - interval * (historyWindows - i - 1), VersionSample.Empty,
                    new VersionSample(1000, 1, null, [new PodSample("shop-1", 500, 1), new PodSample("shop-2", 500, 0)])))
                .ToList();
            return Task.FromResult(history);
        }
    }

    private static (AnalysisRunner Runner, LearningJudge Step, LearningJudge Background) Runner(HistorySource source, TimeSpan lookback)
    {
        var step = new LearningJudge("error-rate");
        var background = new LearningJudge("error-rate");
        var binding = new MetricBinding("error-rate", step, source.WindowAsync) { Background = background };
        return (new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0) { Lookback = lookback }, [binding]), step, background);
    }

    [Fact]
    public async Task The_history_is_read_once_when_the_analysis_begins_and_both_judges_learn_from_every_window()
    {
        var source = new HistorySource(historyWindows: 60);
        var (runner, _, _) = Runner(source, TimeSpan.FromHours(1));

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        Assert.Equal([(T0, Interval, 60)], source.Reads);
        Assert.Equal(T0, started.Status.AnalysisCursor);
        Assert.Equal(60, (int)started.Status.JudgeStates["error-rate"]["learned"]!);
        Assert.Equal(60_000, (long)started.Status.JudgeStates["error-rate"]["learnedRequests"]!);
        Assert.Equal(60, (int)started.Status.BackgroundStates["error-rate"]["learned"]!);
        Assert.Empty(started.NewVerdicts);
        var note = Assert.Single(started.Notes);
        Assert.False(note.IsWarning);
        Assert.Contains("learned from 60 window(s) of the control's history", note.Text);

        // The next catch-ups judge windows and never read the history again; what was learned stays.
        var later = await runner.CatchUpAsync(started.Status, T0 + 3 * Interval, CancellationToken.None);
        later = await runner.CatchUpAsync(later.Status, T0 + 5 * Interval, CancellationToken.None);
        Assert.Single(source.Reads);
        Assert.Empty(later.Notes);
        Assert.Equal(5, (int)later.Status.JudgeStates["error-rate"]["observed"]!);
        Assert.Equal(60, (int)later.Status.JudgeStates["error-rate"]["learned"]!);
        Assert.Equal(60, (int)later.Status.BackgroundStates["error-rate"]["learned"]!);
    }

    [Fact]
    public async Task A_resumed_rollout_in_another_process_continues_with_the_learned_state_and_reads_no_history()
    {
        var first = new HistorySource(historyWindows: 60);
        var (runner, _, _) = Runner(first, TimeSpan.FromHours(1));
        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        // Another process: new judges, a new source, the status as the cluster holds it.
        var second = new HistorySource(historyWindows: 60);
        var (resumed, step, background) = Runner(second, TimeSpan.FromHours(1));
        var after = await resumed.CatchUpAsync(started.Status, T0 + 2 * Interval, CancellationToken.None);

        Assert.Empty(second.Reads);
        Assert.Equal((60, 2), (step.Learned, step.Observed));
        Assert.Equal((60, 2), (background.Learned, background.Observed));
        Assert.Equal(60, (int)after.Status.JudgeStates["error-rate"]["learned"]!);
    }

    [Fact]
    public async Task A_failing_history_read_is_said_once_and_the_analysis_goes_on_without_it()
    {
        var source = new HistorySource(historyWindows: 60, new MetricsUnavailableException("Prometheus at http://prometheus:9090/ answered HTTP 503 Service Unavailable"));
        var (runner, _, _) = Runner(source, TimeSpan.FromHours(1));

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        Assert.Equal(T0, started.Status.AnalysisCursor);
        Assert.Equal(0, started.Status.ConsecutiveMetricErrors);
        Assert.Empty(started.NewVerdicts);
        var note = Assert.Single(started.Notes);
        Assert.True(note.IsWarning);
        Assert.Contains("could not be read (Prometheus at http://prometheus:9090/ answered HTTP 503 Service Unavailable)", note.Text);
        Assert.Contains("spec.analysis.lookback 1h", note.Text);
        Assert.False(started.Status.JudgeStates.ContainsKey("error-rate"));

        var later = await runner.CatchUpAsync(started.Status, T0 + 3 * Interval, CancellationToken.None);
        Assert.Single(source.Reads);
        Assert.Empty(later.Notes);
        Assert.Equal(3, later.NewVerdicts.Count);
        Assert.All(later.NewVerdicts, v => Assert.Equal(VerdictOutcome.InsufficientData, v.Outcome));
        Assert.Equal((0, 3), ((int)later.Status.JudgeStates["error-rate"]["learned"]!, (int)later.Status.JudgeStates["error-rate"]["observed"]!));
    }

    [Fact]
    public async Task An_empty_history_is_said_once_and_learns_nothing()
    {
        var source = new HistorySource(historyWindows: 0);
        var (runner, _, _) = Runner(source, TimeSpan.FromHours(1));
        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);
        Assert.Single(source.Reads);
        var note = Assert.Single(started.Notes);
        Assert.True(note.IsWarning);
        Assert.Contains("holds no per-pod counts", note.Text);
        Assert.False(started.Status.JudgeStates.ContainsKey("error-rate"));
        Assert.Equal(T0, started.Status.AnalysisCursor);
    }

    [Fact]
    public async Task A_zero_look_back_reads_nothing()
    {
        var source = new HistorySource(historyWindows: 60);
        var (runner, _, _) = Runner(source, TimeSpan.Zero);
        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);
        Assert.Empty(source.Reads);
        Assert.Empty(started.Notes);
        Assert.Equal(T0, started.Status.AnalysisCursor);
    }

    [Fact]
    public async Task A_look_back_shorter_than_the_interval_a_drive_widened_reads_nothing_and_says_so()
    {
        var source = new HistorySource(historyWindows: 60);
        var step = new LearningJudge("error-rate");
        var runner = new AnalysisRunner(new AnalysisPlan(TimeSpan.FromMinutes(2), 0, 3, 0) { Lookback = Interval }, [new MetricBinding("error-rate", step, source.WindowAsync)]);
        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);
        Assert.Empty(source.Reads);
        Assert.Contains("shorter than the analysis interval", Assert.Single(started.Notes).Text);
    }

    [Fact]
    public async Task Priming_sends_one_range_request_per_query_per_metric_to_prometheus_and_none_for_the_canary()
    {
        var prom = new FakeRangePrometheus();
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => 100 * (t - 1_700_000_000) / 60));
        var bindings = new[] { "error-rate", "error-rate-2" }.Select(name => new MetricBinding(name, new LearningJudge(name), prom.Source().WindowAsync)
        {
            Background = new LearningJudge(name),
        }).ToList();
        var runner = new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0) { Lookback = TimeSpan.FromHours(1) }, bindings);

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        Assert.Equal(4, prom.Requests.Count);
        Assert.All(prom.Requests, u => Assert.Equal("/api/v1/query_range", u.AbsolutePath));
        Assert.All(prom.Requests, u => Assert.DoesNotContain("shop-canary", HttpUtility.ParseQueryString(u.Query)["query"], StringComparison.Ordinal));
        Assert.All(bindings, b => Assert.Equal(60, (int)started.Status.JudgeStates[b.Metric]["learned"]!));
        Assert.All(bindings, b => Assert.Equal(6_000, (long)started.Status.JudgeStates[b.Metric]["learnedRequests"]!));
    }

    [Fact]
    public async Task A_load_tests_own_control_stream_has_no_history_and_is_not_read()
    {
        var prom = new FakeRangePrometheus();
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => t));
        MetricBinding Binding(string name, Kubestead.LoadTests.LoadTestTraffic traffic) =>
            new(name, new LearningJudge(name), new PrometheusMetricSource(
                new PrometheusClient(new HttpClient(prom), FakeRangePrometheus.Address),
                new PrometheusProviderSpec(FakeRangePrometheus.Address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10)),
                "web", "shop-canary", "shop") { WithLatency = false, LoadTest = traffic }.WindowAsync);
        var bindings = new[]
        {
            // The users' evidence and a load test compared with users' traffic read the control's users: history.
            Binding("error-rate", new Kubestead.LoadTests.LoadTestTraffic("kubestead_load_test", "shop", Synthetic: false, SyntheticControl: true)),
            Binding("error-rate@loadTest", new Kubestead.LoadTests.LoadTestTraffic("kubestead_load_test", "shop", Synthetic: true, SyntheticControl: false)),
            // Compared with its own control stream, which runs only during analysis: none.
            Binding("errors@loadTest", new Kubestead.LoadTests.LoadTestTraffic("kubestead_load_test", "shop", Synthetic: true, SyntheticControl: true)),
        };
        var runner = new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0) { Lookback = TimeSpan.FromMinutes(10) }, bindings);

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        Assert.Equal(4, prom.Requests.Count);
        Assert.All(prom.Requests, u => Assert.Contains("kubestead_load_test!=\"shop\"", HttpUtility.ParseQueryString(u.Query)["query"], StringComparison.Ordinal));
        Assert.Equal(["error-rate", "error-rate@loadTest"], started.Notes.Select(n => n.Metric));
        Assert.False(started.Status.JudgeStates.ContainsKey("errors@loadTest"));
    }

    /// <summary>The learned sums' weight in a judge's saved pod learner (0: nothing learned).</summary>
    private static double LearnedWeight(JsonObject state) => state["pods"]?["weights"]?.GetValue<double>() ?? 0;

    // The history is read in the catch-up that opens the analysis, and the first analysis step starts right after it (in the
    // same weight write): the step's judge must still hold what the history taught when it places its first bet.
    [Fact]
    public async Task The_first_steps_judges_keep_what_the_history_taught_after_the_step_starts()
    {
        var source = new HistorySource(historyWindows: 60);
        var sequential = new MetricBinding("error-rate", new SequentialErrorRateJudge("error-rate"), source.WindowAsync)
        {
            Background = new SequentialErrorRateJudge("error-rate", new SequentialJudgeOptions(Restarts: RestartMixtureOptions.Default)),
        };
        var ranks = new MetricBinding("error-ranks", new MannWhitneyJudge("error-ranks"), source.WindowAsync);
        var runner = new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0) { Lookback = TimeSpan.FromHours(1) }, [sequential, ranks]);

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);
        var step = runner.StartStep(started.Status, T0, new AnalysisPlanStep(null, true));

        Assert.True(LearnedWeight(started.Status.BackgroundStates["error-rate"]) > 0);
        Assert.Equal(LearnedWeight(started.Status.BackgroundStates["error-rate"]), LearnedWeight(step.JudgeStates["error-rate"]));
        Assert.True(LearnedWeight(started.Status.JudgeStates["error-ranks"]) > 0);
        Assert.Equal(LearnedWeight(started.Status.JudgeStates["error-ranks"]), LearnedWeight(step.JudgeStates["error-ranks"]));
        // The step's evidence is fresh all the same: Mann-Whitney's windows start empty.
        Assert.Empty(step.JudgeStates["error-ranks"]["windows"]!.AsArray());
    }

    // A threshold judge reads no per-pod failure counts: its metric's history would be two range queries for nothing.
    [Fact]
    public async Task A_metric_whose_judges_learn_nothing_from_the_history_does_not_read_it()
    {
        var learns = new HistorySource(historyWindows: 60);
        var thresholds = new HistorySource(historyWindows: 60);
        var runner = new AnalysisRunner(new AnalysisPlan(Interval, 0, 3, 0) { Lookback = TimeSpan.FromHours(1) },
        [
            new MetricBinding("error-rate", new SequentialErrorRateJudge("error-rate"), learns.WindowAsync),
            new MetricBinding("success", new ThresholdJudge("success", 99, 500), thresholds.WindowAsync),
        ]);

        var started = await runner.CatchUpAsync(new RolloutStatus(), T0, CancellationToken.None);

        Assert.Single(learns.Reads);
        Assert.Empty(thresholds.Reads);
        Assert.Equal("error-rate", Assert.Single(started.Notes).Metric);
    }
}
