
namespace Kubestead.Analysis;

/// <summary>
/// The rollout's analysis as a compact time series, kept in the status so that any process can show how the verdict
/// came about (history, report). It rides on the status saves the engine makes anyway. Bounded: past
/// <see cref="MaxMetricRecords"/> metric records, the older half of the windows is merged pairwise, so recent windows
/// keep full resolution and the state object stays far below Kubernetes' 1 MiB limit however long the rollout runs.
/// </summary>
public sealed record AnalysisTimeline
{
    /// <summary>Windows times metrics kept at most; about 300 bytes each in the status JSON.</summary>
    public const int MaxMetricRecords = 240;

    /// <summary>The judges analysed, once each (their decision thresholds do not change during a rollout).</summary>
    public IReadOnlyList<TimelineJudge> Judges { get; init; } = Array.Empty<TimelineJudge>();

    /// <summary>The analysed windows, oldest first; older ones may stand for several merged windows.</summary>
    public IReadOnlyList<TimelineWindow> Windows { get; init; } = Array.Empty<TimelineWindow>();

    /// <summary>Windows analysed in all, including the ones merged away.</summary>
    public int WindowCount { get; init; }

    /// <summary>At most this many warm-up spans are kept (the newest); adjacent warm-up windows form one span.</summary>
    public const int MaxWarmupSpans = 50;

    /// <summary>Spans whose traffic was not judged because they fell in a warm-up (analysis.warmup, initialDelay).</summary>
    public IReadOnlyList<TimelineSpan> Warmups { get; init; } = Array.Empty<TimelineSpan>();

    /// <summary>Records a warm-up window, joining it to the previous warm-up span when they touch.</summary>
    public AnalysisTimeline AppendWarmup(DateTimeOffset start, DateTimeOffset end)
    {
        var spans = Warmups.ToList();
        if (spans.Count > 0 && spans[^1].End >= start) spans[^1] = spans[^1] with { End = end > spans[^1].End ? end : spans[^1].End };
        else spans.Add(new TimelineSpan(start, end));
        return this with { Warmups = spans.Skip(Math.Max(0, spans.Count - MaxWarmupSpans)).ToList() };
    }

    /// <summary>Adds a window, merging old windows when the timeline is over its bound.</summary>
    public AnalysisTimeline Append(TimelineWindow window, IReadOnlyList<TimelineJudge> judges)
    {
        var windows = Windows.Append(window).ToList();
        var perWindow = Math.Max(1, window.Metrics.Count);
        while (windows.Count * perWindow > MaxMetricRecords && windows.Count > 2)
            windows = Downsample(windows);
        return this with { Judges = judges, Windows = windows, WindowCount = WindowCount + 1 };
    }

    /// <summary>Merges the older half of the windows pairwise; the newer half stays as it is.</summary>
    private static List<TimelineWindow> Downsample(List<TimelineWindow> windows)
    {
        var half = windows.Count / 2;
        var result = new List<TimelineWindow>(windows.Count);
        var i = 0;
        for (; i + 1 < half; i += 2) result.Add(TimelineWindow.Merge(windows[i], windows[i + 1]));
        result.AddRange(windows.Skip(i));
        return result;
    }
}

/// <summary>A stretch of time in the timeline (a warm-up).</summary>
public sealed record TimelineSpan(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A judge in the timeline: its metric, its kind, and the e-value at which it decides (null: not sequential).</summary>
public sealed record TimelineJudge(string Metric, string Judge, double? Threshold);

/// <summary>
/// One analysis window (or several merged ones, <see cref="Merged"/>): when, at what canary weight, and per metric
/// what each side served and what the judge said at its end.
/// </summary>
public sealed record TimelineWindow(DateTimeOffset Start, DateTimeOffset End, double CanaryWeight, IReadOnlyList<TimelineMetric> Metrics, int Merged = 1)
{
    /// <summary>
    /// Two adjacent windows as one: counts add up, latency is weighted by requests, the weight is the later one's
    /// (which held at the end), and the verdict and e-values are the later one's (they are cumulative).
    /// </summary>
    public static TimelineWindow Merge(TimelineWindow a, TimelineWindow b)
    {
        var metrics = b.Metrics.Select(mb =>
        {
            var ma = a.Metrics.FirstOrDefault(m => m.Metric == mb.Metric);
            return ma is null ? mb : TimelineMetric.Merge(ma, mb);
        }).ToList();
        return new TimelineWindow(a.Start, b.End, b.CanaryWeight, metrics, a.Merged + b.Merged);
    }
}

/// <summary>
/// One metric in one window: the window's own counts (not cumulative), the p95 latency of each side when measured, and
/// the judge's outcome and evidence after the window (<see cref="EValue"/> for "worse", <see cref="PassEValue"/> for
/// "fine"; both cumulative).
/// </summary>
public sealed record TimelineMetric(
    string Metric,
    long CanaryRequests,
    long CanaryFailures,
    long ControlRequests,
    long ControlFailures,
    VerdictOutcome Outcome,
    double? EValue = null,
    double? PassEValue = null,
    double? CanaryP95Ms = null,
    double? ControlP95Ms = null)
{
    public static TimelineMetric Merge(TimelineMetric a, TimelineMetric b) => b with
    {
        CanaryRequests = a.CanaryRequests + b.CanaryRequests,
        CanaryFailures = a.CanaryFailures + b.CanaryFailures,
        ControlRequests = a.ControlRequests + b.ControlRequests,
        ControlFailures = a.ControlFailures + b.ControlFailures,
        CanaryP95Ms = Weighted(a.CanaryP95Ms, a.CanaryRequests, b.CanaryP95Ms, b.CanaryRequests),
        ControlP95Ms = Weighted(a.ControlP95Ms, a.ControlRequests, b.ControlP95Ms, b.ControlRequests),
    };

    /// <summary>Builds the record of a judged window; evidence comes from the judge when it is sequential.</summary>
    public static TimelineMetric From(MetricWindow window, ICanaryJudge judge, Verdict verdict)
    {
        double? fail = verdict.EValue, pass = null;
        if (judge is SequentialCountJudge s) (fail, pass) = (s.Evidence.Fail, s.Evidence.Pass);
        return new TimelineMetric(verdict.Metric, window.Canary.Requests, window.Canary.Failures, window.Control.Requests, window.Control.Failures,
            verdict.Outcome, Round(fail), Round(pass), P95(window.Canary.Latency), P95(window.Control.Latency));
    }

    /// <summary>
    /// The record of a window judged by a step judge and a background e-process: the background's evidence against the
    /// canary (what aborts) and its Fail, the step judge's evidence for it (what advances) and otherwise its outcome.
    /// </summary>
    public static TimelineMetric From(MetricWindow window, ICanaryJudge stepJudge, Verdict stepVerdict, ICanaryJudge background, Verdict backgroundVerdict)
    {
        var step = From(window, stepJudge, stepVerdict);
        var whole = From(window, background, backgroundVerdict);
        return step with
        {
            EValue = whole.EValue,
            Outcome = backgroundVerdict.Outcome == VerdictOutcome.Fail ? VerdictOutcome.Fail : step.Outcome,
        };
    }

    private static double? P95(LatencyHistogram? h) => h is { Total: > 0 } ? Round(SequentialLatencyJudge.Quantile(h, 0.95)) : null;

    // Four significant digits are plenty for a chart and keep the status JSON short.
    private static double? Round(double? v) => v is { } x && double.IsFinite(x) && x != 0
        ? Math.Round(x, Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(x))), 0, 15))
        : v is { } y && double.IsFinite(y) ? y : null;

    private static double? Weighted(double? a, long na, double? b, long nb) => (a, b) switch
    {
        ({ } x, { } y) when na + nb > 0 => Round((x * na + y * nb) / (na + nb)),
        ({ } x, null) => x,
        (_, var y) => y,
    };
}
