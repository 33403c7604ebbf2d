using Kubestead.Analysis;

namespace Kubestead.Rollouts;

/// <summary>Reads one window of counts for a metric (from Prometheus, the simulator, ...).</summary>
public delegate Task<MetricWindow> MetricWindowQuery(DateTimeOffset start, DateTimeOffset end, CancellationToken ct);

/// <summary>A judge and where its counts come from; <paramref name="Spec"/>, when known, lets progress estimate the requests a verdict needs.</summary>
public sealed record MetricBinding(string Metric, ICanaryJudge Judge, MetricWindowQuery Query, Specs.JudgeSpec? Spec = null);

/// <summary>
/// Runs background analysis: every complete window since the status's cursor is queried and fed to each judge, whose
/// state goes back into the status so another process can continue the same sequential test. A window whose query
/// fails is not skipped: the cursor stays, the error is counted, and the next attempt covers the gap.
/// </summary>
public sealed class AnalysisRunner(AnalysisPlan plan, IReadOnlyList<MetricBinding> metrics)
{
    public AnalysisPlan Plan { get; } = plan;

    public IReadOnlyList<MetricBinding> Metrics { get; } = metrics;

    public bool IsActive(RolloutStatus status) => status.Phase == RolloutPhase.Progressing && status.StepIndex >= Plan.StartingStep;

    /// <summary>When the next window closes, or null when analysis has not started.</summary>
    public DateTimeOffset? NextWindowEnd(RolloutStatus status) => status.AnalysisCursor is { } c ? c + Plan.Interval : null;

    /// <summary>Analyses every complete window up to <paramref name="now"/>; returns the new status and the verdicts produced.</summary>
    public async Task<(RolloutStatus Status, IReadOnlyList<Verdict> NewVerdicts)> CatchUpAsync(
        RolloutStatus status, DateTimeOffset now, CancellationToken ct)
    {
        if (status.AnalysisCursor is not { } cursor)
            return (status with { AnalysisCursor = now }, Array.Empty<Verdict>());

        foreach (var m in Metrics)
            if (status.JudgeStates.TryGetValue(m.Metric, out var saved)) m.Judge.RestoreState(saved);

        var produced = new List<Verdict>();
        var last = status.LastVerdicts;
        var errors = status.ConsecutiveMetricErrors;
        var inconclusive = status.InconclusiveWindows;
        var timeline = status.Timeline ?? new AnalysisTimeline();
        while (cursor + Plan.Interval <= now)
        {
            var end = cursor + Plan.Interval;
            var windows = new List<(MetricBinding Binding, MetricWindow Window)>();
            Verdict? failure = null;
            foreach (var m in Metrics)
            {
                try
                {
                    windows.Add((m, await m.Query(cursor, end, ct).ConfigureAwait(false)));
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    failure = ErrorVerdict(m, e);
                    break;
                }
            }
            if (failure is not null)
            {
                errors++;
                last = Metrics.Select(m => m == Metrics.First(x => x.Metric == failure.Metric) ? failure : ErrorVerdict(m, null)).ToList();
                produced.Add(failure);
                break;
            }
            errors = 0;
            var verdicts = new List<Verdict>();
            var recorded = new List<TimelineMetric>();
            foreach (var (binding, window) in windows)
            {
                binding.Judge.Observe(window);
                var verdict = binding.Judge.Evaluate();
                verdicts.Add(verdict);
                recorded.Add(TimelineMetric.From(window, binding.Judge, verdict));
            }
            timeline = timeline.Append(new TimelineWindow(cursor, end, WeightAt(status, cursor), recorded), TimelineJudges());
            // Consecutive windows without a decision; a Pass or Fail resets the count.
            inconclusive = verdicts.All(v => v.Outcome == VerdictOutcome.InsufficientData) ? inconclusive + 1 : 0;
            last = verdicts;
            produced.AddRange(verdicts);
            cursor = end;
        }

        var states = Metrics.ToDictionary(m => m.Metric, m => m.Judge.SaveState());
        return (status with
        {
            AnalysisCursor = cursor,
            JudgeStates = states,
            LastVerdicts = last,
            ConsecutiveMetricErrors = errors,
            InconclusiveWindows = inconclusive,
            Timeline = timeline.WindowCount == 0 ? status.Timeline : timeline,
        }, produced);
    }

    /// <summary>
    /// The canary weight when a window began, from the recorded weight changes: windows are analysed when they close, and
    /// a catch-up may analyse them after the weight changed again.
    /// </summary>
    private static double WeightAt(RolloutStatus status, DateTimeOffset at)
    {
        var before = status.History.LastOrDefault(h => h.CanaryWeight is not null && h.At <= at);
        if (before is not null) return before.CanaryWeight!.Value;
        // Nothing recorded before: the rollout had not shifted traffic yet, unless the bounded history lost that entry.
        return status.History.Count >= RolloutStatus.MaxHistory ? status.CanaryWeight : 0;
    }

    private List<TimelineJudge> TimelineJudges() => Metrics.Select(m => new TimelineJudge(m.Metric, m.Judge.Name,
        m.Judge is SequentialCountJudge s ? s.Evidence.Threshold : null)).ToList();

    private static Verdict ErrorVerdict(MetricBinding m, Exception? e) => new(
        m.Judge.Name, m.Metric, VerdictOutcome.Error, 0, 0, 0, 0, null, null, null, null,
        e is null ? "not evaluated: another metric's query failed in this window" : $"metrics query failed: {e.Message}");
}
