namespace Kubestead.Analysis;

/// <summary>Sequential, anytime-valid comparison of failure counts (see <see cref="SequentialCountJudge"/>).</summary>
public sealed class SequentialErrorRateJudge(string metric, SequentialJudgeOptions? options = null)
    : SequentialCountJudge(metric, options ?? new SequentialJudgeOptions())
{
    public override string Name => "sequential";

    protected override string EventName => "failure";

    protected override (long Nc, long Xc, long Ns, long Xs)? Count(MetricWindow w) =>
        (w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures);

    protected override (IReadOnlyList<PodSample>? Canary, IReadOnlyList<PodSample>? Control) PodCounts(MetricWindow w) =>
        (w.Canary.Pods, w.Control.Pods);

    /// <summary>It learns the pods' band from the control's per-pod failures (<see cref="SequentialCountJudge.LearnHistory"/>).</summary>
    public override bool LearnsFromHistory => true;
}
