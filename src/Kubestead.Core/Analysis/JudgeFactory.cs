using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>Creates the judge a spec's metric names.</summary>
public static class JudgeFactory
{
    public static ICanaryJudge Create(MetricSpec metric) => Create(metric.Name, metric.Judge);

    /// <summary>
    /// The judges of one analysis gate. Any Fail aborts, so with K sequential metrics each runs at its alpha divided by K:
    /// by the union bound the gate aborts a good canary with probability at most the metrics' largest alpha (halved, as
    /// each judge runs each direction at alpha/2), whatever the dependence between the metrics. Pass needs every metric
    /// to pass, which already keeps a bad metric's Pass error at its own level, so the split only costs some speed.
    /// </summary>
    public static IReadOnlyList<ICanaryJudge> CreateGate(IReadOnlyList<MetricSpec> metrics)
    {
        var sequential = Math.Max(1, metrics.Count(m => m.Judge.Kind == "sequential"));
        return metrics.Select(m => Create(m.Name, m.Judge.Kind == "sequential" ? m.Judge with { Alpha = m.Judge.Alpha / sequential } : m.Judge)).ToList();
    }

    /// <summary>
    /// The background tests of one gate: the same judges and alpha split as <see cref="CreateGate"/>, with each sequential
    /// Fail test a mixture of e-processes restarted on <paramref name="restarts"/>'s schedule (default:
    /// <see cref="RestartMixtureOptions.Default"/>), still anytime-valid at the metric's alpha (issue #12).
    /// </summary>
    public static IReadOnlyList<ICanaryJudge> CreateBackground(IReadOnlyList<MetricSpec> metrics, RestartMixtureOptions? restarts = null)
    {
        var sequential = Math.Max(1, metrics.Count(m => m.Judge.Kind == "sequential"));
        return metrics.Select(m => Create(m.Name, m.Judge.Kind == "sequential" ? m.Judge with { Alpha = m.Judge.Alpha / sequential } : m.Judge,
            restarts ?? RestartMixtureOptions.Default)).ToList();
    }

    public static ICanaryJudge Create(string metric, JudgeSpec judge) => Create(metric, judge, null);

    private static ICanaryJudge Create(string metric, JudgeSpec judge, RestartMixtureOptions? restarts) => judge.Kind switch
    {
        "sequential" when judge.LatencyThresholdMs is { } ms =>
            new SequentialLatencyJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease, Restarts: restarts), ms),
        "sequential" => new SequentialErrorRateJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease, Restarts: restarts)),
        "threshold" => new ThresholdJudge(metric, judge.MinSuccessRate, judge.MaxP99Ms),
        "mannWhitney" => new MannWhitneyJudge(metric, judge.Confidence, judge.AllowedIncrease, detectRatio: judge.DetectRatio),
        _ => throw new ArgumentException($"unknown judge '{judge.Kind}'", nameof(judge)),
    };
}
