using System.Text.RegularExpressions;

namespace Kubestead.Sandbox.Simulation;

/// <summary>How a <see cref="LabelMatcher"/> compares: <c>=</c>, <c>!=</c>, <c>=~</c>, <c>!~</c>.</summary>
public enum LabelMatchOp
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>One label matcher of a PromQL selector; a missing label reads as the empty string, as in Prometheus.</summary>
public sealed record LabelMatcher(string Label, LabelMatchOp Op, string Value)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var actual = labels.GetValueOrDefault(Label, "");
        return Op switch
        {
            LabelMatchOp.Equal => actual == Value,
            LabelMatchOp.NotEqual => actual != Value,
            // Prometheus anchors regex matchers at both ends.
            LabelMatchOp.Regex => Regex.IsMatch(actual, $"^(?:{Value})$"),
            _ => !Regex.IsMatch(actual, $"^(?:{Value})$"),
        };
    }
}
