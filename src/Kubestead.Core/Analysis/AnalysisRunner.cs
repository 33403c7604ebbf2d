using System.Text.Json.Nodes;
using Kubestead.Metrics;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Analysis;

/// <summary>A judge and where its counts come from; <paramref name="Spec"/>, when known, lets progress estimate the requests a verdict needs.</summary>
public sealed record MetricBinding(string Metric, ICanaryJudge Judge, MetricWindowQuery Query, Specs.JudgeSpec? Spec = null)
{
    /// <summary>The metric's background e-process (same kind and alpha as <see cref="Judge"/>), or null when it has none.</summary>
    public ICanaryJudge? Background { get; init; }
}

/// <summary>What one catch-up produced: the new status, the step judges' and background verdicts, and the warm-up windows skipped.</summary>
public sealed record AnalysisCatchUp(
    RolloutStatus Status,
    IReadOnlyList<Verdict> NewVerdicts,
    IReadOnlyList<Verdict> NewBackgroundVerdicts,
    IReadOnlyList<WarmupWindow> WarmupWindows)
{
    /// <summary>What the catch-up has to say once besides verdicts: at the analysis's start, whether the control's history was read.</summary>
    public IReadOnlyList<AnalysisNote> Notes { get; init; } = [];
}

/// <summary>A window inside a warm-up: its counts were not fed to any judge.</summary>
public sealed record WarmupWindow(DateTimeOffset Start, DateTimeOffset End, DateTimeOffset WarmupUntil);

/// <summary>
/// Runs the analysis: every complete window since the status's cursor is queried and fed to each metric's step judge
/// and, for sequential metrics, to its background e-process; both states go back into the status so another process
/// can continue the same sequential tests. A window whose query fails is not skipped: the cursor stays, the error is
/// counted, and the next attempt covers the gap. Windows that begin inside a warm-up are skipped and reported.
/// </summary>
public sealed class AnalysisRunner
{
    private readonly Dictionary<string, JsonObject> _freshStates;

    public AnalysisRunner(AnalysisPlan plan, IReadOnlyList<MetricBinding> metrics)
    {
        Plan = plan;
        Metrics = metrics;
        // The judges are new here: their state now is the state of a step that has seen nothing.
        _freshStates = metrics.ToDictionary(m => m.Metric, m => m.Judge.SaveState());
    }

    public AnalysisPlan Plan { get; }

    public IReadOnlyList<MetricBinding> Metrics { get; }

    public bool IsActive(RolloutStatus status) => status.Phase == RolloutPhase.Progressing && status.StepIndex >= Plan.StartingStep;

    /// <summary>When the next window closes, or null when analysis has not started.</summary>
    public DateTimeOffset? NextWindowEnd(RolloutStatus status)
    {
        if (status.AnalysisCursor is not { } c) return null;
        var end = c + Plan.Interval;
        return status.WarmupUntil is { } w && c < w && w < end ? w : end;
    }

    /// <summary>
    /// An analysis step begins: its step judges start from no evidence (a step passes on its own evidence, never on an
    /// earlier step's) but keep what was learned from the control (<see cref="CarriedLearning"/>), the background
    /// e-processes go on, and the step's initial delay becomes warm-up.
    /// </summary>
    public RolloutStatus StartStep(RolloutStatus status, DateTimeOffset now, AnalysisPlanStep step)
    {
        var warmup = step.InitialDelay > TimeSpan.Zero ? Later(status.WarmupUntil, now + step.InitialDelay) : status.WarmupUntil;
        return status with
        {
            JudgeStates = CarriedLearning(status),
            LastVerdicts = Array.Empty<Verdict>(),
            InconclusiveWindows = 0,
            StepEvidenceSince = now,
            WarmupUntil = warmup,
            AnalysisCursor = status.AnalysisCursor is null ? null : now,
        };
    }

    /// <summary>
    /// The new step's judge states: fresh evidence with the learners of the background judge (never reset, so it has
    /// learned from every window and the control's history) or else of the previous step's judge (issue #29). Learning
    /// reads only the control, in windows that all ended before the new step's first bet.
    /// </summary>
    private Dictionary<string, JsonObject> CarriedLearning(RolloutStatus status)
    {
        var states = new Dictionary<string, JsonObject>();
        foreach (var m in Metrics)
        {
            var learned = status.BackgroundStates.GetValueOrDefault(m.Metric) ?? status.JudgeStates.GetValueOrDefault(m.Metric);
            if (learned is not null) states[m.Metric] = m.Judge.CarryLearning(_freshStates[m.Metric], learned);
        }
        return states;
    }

    /// <summary>True when a weight change from <paramref name="previousWeight"/> to <paramref name="weight"/> begins a warm-up.</summary>
    public bool WarmsUp(double previousWeight, double weight) => Plan.Warmup > TimeSpan.Zero && weight > 0
        && (previousWeight <= 0 || (Plan.WarmupAfterWeightChange && weight != previousWeight));

    /// <summary>
    /// A weight was written and is now in effect: the next window starts here (so no window straddles two weights),
    /// and a warm-up begins when the canary first gets traffic, or after every change when the spec asks for it. It runs
    /// from the later of the write and the moment the canary's pods are all ready (<see cref="WarmupClock"/>).
    /// </summary>
    public RolloutStatus WeightInEffect(RolloutStatus status, double previousWeight, double weight, DateTimeOffset inEffect, CanaryReadiness? readiness = null)
    {
        status = status with { AnalysisCursor = status.AnalysisCursor is null ? null : inEffect };
        return WarmsUp(previousWeight, weight) ? WarmupClock.Begin(status, Plan.Warmup, inEffect, readiness ?? new CanaryReadiness(true, 0, 0)) : status;
    }

    /// <summary>
    /// Analyses every complete window up to <paramref name="now"/>; with <paramref name="closePartial"/> also the
    /// shorter window that ends at <paramref name="now"/> (a weight or step change ends the window there).
    /// </summary>
    /// <summary>Catch-ups at least this many windows long read their window edges ahead, one range request per query.</summary>
    public const int PrefetchFromWindows = 3;

    /// <summary>
    /// Behind by several whole windows (a resume, an API outage, a driver that was down): a source that can read them
    /// ahead (<see cref="IMetricWindowPrefetch"/>, e.g. Prometheus's query_range) does so once. Windows cut by a warm-up
    /// are not on the interval grid, so those catch-ups read window by window; a failed read-ahead only costs that.
    /// </summary>
    private async Task PrefetchCatchUpAsync(RolloutStatus status, DateTimeOffset cursor, DateTimeOffset now, CancellationToken ct)
    {
        var windows = (int)Math.Min(int.MaxValue, (now - cursor).Ticks / Plan.Interval.Ticks);
        if (windows < PrefetchFromWindows || status.WarmupUntil is { } until && until > cursor) return;
        foreach (var m in Metrics)
        {
            if (m.Query.Target is not IMetricWindowPrefetch source) continue;
            try
            {
                await source.PrefetchAsync(cursor, Plan.Interval, windows, ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The windows below read their edges one by one and report their own errors.
            }
        }
    }

    public async Task<AnalysisCatchUp> CatchUpAsync(RolloutStatus status, DateTimeOffset now, CancellationToken ct, bool closePartial = false)
    {
        if (status.AnalysisCursor is not { } cursor)
        {
            // The analysis begins here: the judges learn from the control's history once, before its first window.
            var (primed, notes) = await ControlHistoryPriming.PrimeAsync(Plan, Metrics, _freshStates, status, now, ct).ConfigureAwait(false);
            return new AnalysisCatchUp(primed with { AnalysisCursor = now }, Array.Empty<Verdict>(), Array.Empty<Verdict>(), Array.Empty<WarmupWindow>()) { Notes = notes };
        }

        foreach (var m in Metrics)
        {
            m.Judge.RestoreState(status.JudgeStates.TryGetValue(m.Metric, out var saved) ? saved : _freshStates[m.Metric]);
            if (m.Background is { } bg)
                bg.RestoreState(status.BackgroundStates.TryGetValue(m.Metric, out var b) ? b : _freshStates[m.Metric]);
        }

        var produced = new List<Verdict>();
        var producedBackground = new List<Verdict>();
        var warmups = new List<WarmupWindow>();
        var last = status.LastVerdicts;
        var lastBackground = status.BackgroundVerdicts;
        var errors = status.ConsecutiveMetricErrors;
        var inconclusive = status.InconclusiveWindows;
        var timeline = status.Timeline ?? new AnalysisTimeline();
        var warmingUp = status.WarmingUp;
        var warmupCount = status.WarmupWindows;
        await PrefetchCatchUpAsync(status, cursor, now, ct).ConfigureAwait(false);
        while (cursor + Plan.Interval <= now || (closePartial && cursor < now))
        {
            var end = cursor + Plan.Interval < now ? cursor + Plan.Interval : now;
            if (status.WarmupUntil is { } until && cursor < until)
            {
                // A warm-up window ends where the warm-up does, so the first judged window holds no warm-up traffic.
                if (until < end) end = until;
                warmups.Add(new WarmupWindow(cursor, end, until));
                timeline = timeline.AppendWarmup(cursor, end);
                warmupCount++;
                warmingUp = true;
                cursor = end;
                continue;
            }
            warmingUp = false;
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
            var background = new List<Verdict>();
            foreach (var (binding, window) in windows)
            {
                binding.Judge.Observe(window);
                var verdict = binding.Judge.Evaluate();
                Verdict? backgroundVerdict = null;
                if (binding.Background is { } bg)
                {
                    bg.Observe(window);
                    backgroundVerdict = bg.Evaluate();
                    background.Add(backgroundVerdict);
                    // Aborting is the background e-process's call (one test for the whole rollout, so its alpha is the
                    // rollout's); the step judge only decides whether this step has earned its Pass.
                    if (verdict.Outcome == VerdictOutcome.Fail)
                        verdict = verdict with
                        {
                            Outcome = VerdictOutcome.InsufficientData,
                            Summary = $"no pass in this step yet ({verdict.Summary}); aborting is the background analysis's call",
                        };
                }
                // A sequential Pass is anytime-valid at the moment the evidence crosses the threshold: it stands for the
                // rest of the step, even if the e-value later dips (re-deciding it would only add chances to err).
                if (binding.Spec is { Kind: "sequential" } && verdict.Outcome == VerdictOutcome.InsufficientData
                    && last.FirstOrDefault(v => v.Metric == binding.Metric) is { Outcome: VerdictOutcome.Pass } passed)
                    verdict = verdict with
                    {
                        Outcome = VerdictOutcome.Pass,
                        Summary = $"passed earlier in this step (e-value {passed.EValue:0.#}); now: {verdict.Summary}",
                    };
                verdicts.Add(verdict);
                recorded.Add(binding.Background is { } b && backgroundVerdict is { } bv
                    ? TimelineMetric.From(window, binding.Judge, verdict, b, bv)
                    : TimelineMetric.From(window, binding.Judge, verdict));
            }
            timeline = timeline.Append(new TimelineWindow(cursor, end, WeightAt(status, cursor), recorded), TimelineJudges());
            // Consecutive windows without a decision; a Pass or Fail resets the count.
            inconclusive = verdicts.All(v => v.Outcome == VerdictOutcome.InsufficientData) ? inconclusive + 1 : 0;
            last = verdicts;
            produced.AddRange(verdicts);
            if (background.Count > 0)
            {
                lastBackground = background;
                producedBackground.AddRange(background);
            }
            cursor = end;
        }

        return new AnalysisCatchUp(status with
        {
            AnalysisCursor = cursor,
            JudgeStates = Metrics.ToDictionary(m => m.Metric, m => m.Judge.SaveState()),
            BackgroundStates = Metrics.Where(m => m.Background is not null).ToDictionary(m => m.Metric, m => m.Background!.SaveState()),
            LastVerdicts = last,
            BackgroundVerdicts = lastBackground,
            ConsecutiveMetricErrors = errors,
            InconclusiveWindows = inconclusive,
            Timeline = timeline.WindowCount == 0 && timeline.Warmups.Count == 0 ? status.Timeline : timeline,
            WarmingUp = warmingUp,
            WarmupWindows = warmupCount,
        }, produced, producedBackground, warmups);
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

    /// <summary>The threshold drawn in the report: the background e-process's when there is one (its crossing aborts).</summary>
    private List<TimelineJudge> TimelineJudges() => Metrics.Select(m => new TimelineJudge(m.Metric, m.Judge.Name,
        (m.Background ?? m.Judge) is SequentialCountJudge s ? s.Evidence.Threshold : null)).ToList();

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;

    private static Verdict ErrorVerdict(MetricBinding m, Exception? e) => new(
        m.Judge.Name, m.Metric, VerdictOutcome.Error, 0, 0, 0, 0, null, null, null, null,
        e is null ? "not evaluated: another metric's query failed in this window" : $"metrics query failed: {e.Message}");
}
