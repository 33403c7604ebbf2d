namespace Kubestead.Sandbox.Simulation;

/// <summary>A metric name and its label matchers: <c>metric{label="value", ...}</c>.</summary>
public sealed record PromQlSelector(string Metric, IReadOnlyList<LabelMatcher> Matchers)
{
    public bool Matches(string metric, IReadOnlyDictionary<string, string> labels) => metric == Metric && Matchers.All(m => m.Matches(labels));
}

/// <summary>
/// What the sandbox's Prometheus answers: one selector, optionally inside <c>rate</c> or <c>increase</c> over a
/// range, optionally summed (<see cref="SumBy"/>: null for no sum, empty for <c>sum(...)</c>).
/// </summary>
public sealed record PromQlQuery(PromQlSelector Selector, string? Function = null, TimeSpan? Range = null, IReadOnlyList<string>? SumBy = null);
