using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>Creates the judge a spec's metric names.</summary>
public static class JudgeFactory
{
    public static ICanaryJudge Create(MetricSpec metric) => Create(metric.Name, metric.Judge);

    /// <summary>
    /// The step judges of one analysis gate. Any Fail aborts, so the false-abort budget is split (union bound, valid under
    /// any dependence) over every test that can fail the canary: each of the K metrics (sequential, Mann-Whitney and
    /// threshold alike) gets 1/K of its level, and a test that starts afresh in each of the <paramref name="analysisSteps"/>
    /// analysis steps gets 1/steps of that again (issue #29). Fixed-sample judges always run per step; sequential step
    /// judges do too when there is no <paramref name="background"/> test (with one, only the background test fails the
    /// canary, once for the whole rollout). A threshold judge has no level to split: it counts in K (so the others leave
    /// it room) and its own false-abort rate is whatever its thresholds give. Pass needs every metric to pass, which keeps
    /// a bad metric's Pass error at its own level, so the split only costs some speed.
    /// </summary>
    public static IReadOnlyList<ICanaryJudge> CreateGate(IReadOnlyList<MetricSpec> metrics, int analysisSteps = 1, bool background = true)
    {
        var share = GateShare(metrics, analysisSteps, background);
        var steps = GateShare(metrics, 1, background);
        // A sequential step judge's Pass keeps the gate's 1/K level: only its Fail side is split over the steps.
        return metrics.Select(m => m.Judge.Kind == "sequential"
            ? Create(m.Name, AtShare(m.Judge, steps(m.Judge)), null, share(m.Judge) / steps(m.Judge))
            : Create(m.Name, AtShare(m.Judge, share(m.Judge)))).ToList();
    }

    /// <summary>
    /// The background tests of one gate: one per sequential metric for the whole rollout, at its level divided by the
    /// gate's K metrics as in <see cref="CreateGate"/>, with each Fail test a mixture of e-processes restarted on
    /// <paramref name="restarts"/>'s schedule (default: <see cref="RestartMixtureOptions.Default"/>), still anytime-valid
    /// at that level (issue #12).
    /// </summary>
    public static IReadOnlyList<ICanaryJudge> CreateBackground(IReadOnlyList<MetricSpec> metrics, RestartMixtureOptions? restarts = null)
    {
        var share = GateShare(metrics, 1, background: true);
        return metrics.Select(m => Create(m.Name, AtShare(m.Judge, share(m.Judge)), restarts ?? RestartMixtureOptions.Default)).ToList();
    }

    /// <summary>
    /// The fraction of its own level each metric's judge runs at in a gate of <paramref name="metrics"/> over
    /// <paramref name="analysisSteps"/> analysis steps: 1/K, and 1/(K·steps) for a judge that starts afresh in every step.
    /// </summary>
    public static Func<JudgeSpec, double> GateShare(IReadOnlyList<MetricSpec> metrics, int analysisSteps, bool background)
    {
        var k = Math.Max(1, metrics.Count);
        var steps = Math.Max(1, analysisSteps);
        var anyBackground = background && metrics.Any(m => m.Judge.Kind == "sequential");
        return judge => judge.Kind == "sequential" && anyBackground ? 1.0 / k : 1.0 / (k * steps);
    }

    /// <summary>The judge at <paramref name="share"/> of its level: alpha for sequential judges, 1 − confidence for Mann-Whitney.</summary>
    private static JudgeSpec AtShare(JudgeSpec judge, double share) => judge.Kind switch
    {
        "sequential" => judge with { Alpha = judge.Alpha * share },
        "mannWhitney" => judge with { Confidence = 1 - (1 - judge.Confidence) * share },
        _ => judge,
    };

    public static ICanaryJudge Create(string metric, JudgeSpec judge) => Create(metric, judge, null);

    private static ICanaryJudge Create(string metric, JudgeSpec judge, RestartMixtureOptions? restarts, double failShare = 1) => judge.Kind switch
    {
        "sequential" when judge.LatencyThresholdMs is { } ms =>
            new SequentialLatencyJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease, Restarts: restarts, FailShare: failShare), ms),
        "sequential" => new SequentialErrorRateJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease, Restarts: restarts, FailShare: failShare)),
        "threshold" => new ThresholdJudge(metric, judge.MinSuccessRate, judge.MaxP99Ms, judge.MinRequests),
        "mannWhitney" => new MannWhitneyJudge(metric, judge.Confidence, judge.AllowedIncrease, detectRatio: judge.DetectRatio),
        _ => throw new ArgumentException($"unknown judge '{judge.Kind}'", nameof(judge)),
    };
}
