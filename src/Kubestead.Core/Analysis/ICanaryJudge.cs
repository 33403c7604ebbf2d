using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Judges a canary from a stream of windows. Sequential judges may be asked after every window without
/// inflating their error rate. State is O(1) per metric and can be saved to the cluster and restored by
/// another process, so a resumed rollout continues the same test.
/// </summary>
public interface ICanaryJudge
{
    string Name { get; }

    string Metric { get; }

    void Observe(MetricWindow window);

    /// <summary>
    /// A window from before the analysis began (the control's history, <see cref="Metrics.IControlHistory"/>): a judge that
    /// learns from the control's pods learns from it; no evidence moves and no verdict changes (issue #29).
    /// </summary>
    void LearnHistory(MetricWindow window) { }

    /// <summary>
    /// Whether <see cref="LearnHistory"/> learns anything: the control's history is read only for metrics whose judges
    /// do (a threshold or latency judge reads no per-pod failure counts; its history would be two range queries for nothing).
    /// </summary>
    bool LearnsFromHistory => false;

    /// <summary>
    /// The state a new analysis step's judge starts from: <paramref name="freshState"/> (nothing seen), keeping what this
    /// kind of judge learned from the control in <paramref name="learnedState"/> (an earlier step's or the background's);
    /// no evidence is carried. Judges that learn nothing start fresh.
    /// </summary>
    JsonObject CarryLearning(JsonObject freshState, JsonObject learnedState) => freshState;

    Verdict Evaluate();

    JsonObject SaveState();

    void RestoreState(JsonObject state);
}
