using Kubestead.Specs;

namespace Kubestead.Analysis;

/// <summary>Creates the judge a spec's metric names.</summary>
public static class JudgeFactory
{
    public static ICanaryJudge Create(MetricSpec metric) => Create(metric.Name, metric.Judge);

    public static ICanaryJudge Create(string metric, JudgeSpec judge) => judge.Kind switch
    {
        "sequential" when judge.LatencyThresholdMs is { } ms =>
            new SequentialLatencyJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease), ms),
        "sequential" => new SequentialErrorRateJudge(metric, new SequentialJudgeOptions(judge.Alpha, judge.DetectRatio, judge.AllowedIncrease)),
        "threshold" => new ThresholdJudge(metric, judge.MinSuccessRate, judge.MaxP99Ms),
        "mannWhitney" => new MannWhitneyJudge(metric, judge.Confidence, judge.AllowedIncrease),
        _ => throw new ArgumentException($"unknown judge '{judge.Kind}'", nameof(judge)),
    };
}
