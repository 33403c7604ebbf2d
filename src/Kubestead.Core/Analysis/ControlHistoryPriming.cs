using System.Text.Json.Nodes;
using Kubestead.Metrics;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>
/// When the analysis begins, each metric whose source can read the control's history (<see cref="IControlHistory"/>)
/// reads it once, over the plan's look-back in windows of the analysis interval ending at that moment, and its step and
/// background judges learn from every window (<see cref="ICanaryJudge.LearnHistory"/>: how far the control's pods stray,
/// no evidence). Their states go into the status with the analysis cursor, so a resumed rollout or another process
/// continues with what was learned and never reads the history again. A failed or empty read costs only the learning:
/// it is said once (an <see cref="AnalysisNote"/>) and the analysis goes on.
/// </summary>
public static class ControlHistoryPriming
{
    public static async Task<(RolloutStatus Status, IReadOnlyList<AnalysisNote> Notes)> PrimeAsync(
        AnalysisPlan plan, IReadOnlyList<MetricBinding> metrics, IReadOnlyDictionary<string, JsonObject> freshStates,
        RolloutStatus status, DateTimeOffset now, CancellationToken ct)
    {
        var sources = metrics.Where(m => m.Query.Target is IControlHistory { HasControlHistory: true }
            && (m.Judge.LearnsFromHistory || m.Background?.LearnsFromHistory == true)).ToList();
        if (plan.Lookback <= TimeSpan.Zero || sources.Count == 0) return (status, []);
        var windows = (int)Math.Min(int.MaxValue, plan.Lookback.Ticks / plan.Interval.Ticks);
        if (windows < 1)
            return (status, sources.Select(m => new AnalysisNote(m.Metric,
                $"metric {m.Metric}: the control's history was not read: spec.analysis.lookback ({SpecDuration.Format(plan.Lookback)}) is shorter than the analysis interval ({SpecDuration.Format(plan.Interval)})",
                IsWarning: true)).ToList());
        // The metrics' sources are read side by side: a Prometheus that does not answer delays the first window by one timeout, not one per metric.
        var reads = await Task.WhenAll(sources.Select(m => ReadAsync(m, now, plan.Interval, windows, ct))).ConfigureAwait(false);
        var judgeStates = new Dictionary<string, JsonObject>(status.JudgeStates);
        var backgroundStates = new Dictionary<string, JsonObject>(status.BackgroundStates);
        var notes = new List<AnalysisNote>();
        foreach (var (m, history, failure) in reads)
        {
            var lookback = SpecDuration.Format(plan.Lookback);
            if (failure is not null || history.Count == 0)
            {
                notes.Add(new AnalysisNote(m.Metric, $"metric {m.Metric}: " + (failure is not null
                    ? $"the control's history (spec.analysis.lookback {lookback}) could not be read ({failure})"
                    : $"the control's history (spec.analysis.lookback {lookback}) holds no per-pod counts") +
                    "; its judges learn the pods' dispersion from the rollout's own windows", IsWarning: true));
                continue;
            }
            judgeStates[m.Metric] = Learn(m.Judge, status.JudgeStates.TryGetValue(m.Metric, out var saved) ? saved : freshStates[m.Metric], history);
            if (m.Background is { } bg)
                backgroundStates[m.Metric] = Learn(bg, status.BackgroundStates.TryGetValue(m.Metric, out var b) ? b : freshStates[m.Metric], history);
            notes.Add(new AnalysisNote(m.Metric,
                $"metric {m.Metric}: learned from {history.Count} window(s) of the control's history ({SpecDuration.Format(plan.Interval)} each, spec.analysis.lookback {lookback})",
                IsWarning: false));
        }
        return (status with { JudgeStates = judgeStates, BackgroundStates = backgroundStates }, notes);
    }

    private static async Task<(MetricBinding Metric, IReadOnlyList<MetricWindow> History, string? Failure)> ReadAsync(
        MetricBinding m, DateTimeOffset end, TimeSpan interval, int windows, CancellationToken ct)
    {
        try
        {
            return (m, await ((IControlHistory)m.Query.Target!).ControlHistoryAsync(end, interval, windows, ct).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return (m, [], e.Message);
        }
    }

    private static JsonObject Learn(ICanaryJudge judge, JsonObject state, IReadOnlyList<MetricWindow> history)
    {
        judge.RestoreState(state);
        foreach (var window in history) judge.LearnHistory(window);
        return judge.SaveState();
    }
}
