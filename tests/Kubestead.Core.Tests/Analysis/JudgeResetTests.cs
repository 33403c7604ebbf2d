using System.Text.Json.Nodes;
using Kubestead.Analysis;

namespace Kubestead.Core.Tests.Analysis;

/// <summary>An analysis step starts its judges from the state of a new judge: every judge must forget what it saw.</summary>
public class JudgeResetTests
{
    private static readonly MetricWindow Bad = new(default, default, new VersionSample(1000, 200), new VersionSample(9000, 9));

    public static TheoryData<string> Kinds() => ["sequential", "threshold", "mannWhitney"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Restoring_a_new_judges_state_forgets_every_window(string kind)
    {
        var spec = new Kubestead.Specs.JudgeSpec(kind, 0.05, 5, 1.0, 0.98, kind == "threshold" ? 99 : null, null, null);
        var judge = JudgeFactory.Create("error-rate", spec);
        var fresh = JudgeFactory.Create("error-rate", spec).SaveState();
        for (var i = 0; i < 12; i++) judge.Observe(Bad);
        Assert.Equal(VerdictOutcome.Fail, judge.Evaluate().Outcome);
        judge.RestoreState(JsonNode.Parse(fresh.ToJsonString())!.AsObject());
        var after = judge.Evaluate();
        Assert.Equal(VerdictOutcome.InsufficientData, after.Outcome);
        Assert.Equal(0, after.CanaryRequests);
    }
}
