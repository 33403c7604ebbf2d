using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

/// <summary>Issue #29: <c>analysis.lookback</c>, how much of the control's history the judges learn from when the analysis begins.</summary>
public class AnalysisLookbackTests
{
    private static SpecParseResult Parse(string analysisFields) =>
        RolloutSpecParser.Parse(Kubestead.Core.Tests.Analysis.BackgroundOffAlphaTests.Spec(background: true, analysisSteps: 1, analysisFields));

    [Theory]
    [InlineData("", 21600)]                                // the default: six hours
    [InlineData("    lookback: 0s", 0)]                    // reads no history
    [InlineData("    lookback: 24h", 86400)]               // the longest
    [InlineData("    lookback: 1m", 60)]                   // one window of the default interval
    [InlineData("    interval: 30s\n    lookback: 30s", 30)]
    public void The_look_back_defaults_to_six_hours_and_an_allowed_one_is_kept_in_the_plan(string fields, int seconds)
    {
        var result = Parse(fields);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(TimeSpan.FromSeconds(seconds), result.Spec!.Analysis!.Lookback);
        Assert.Equal(TimeSpan.FromSeconds(seconds), RuntimeFactory.ToPlan(result.Spec).Analysis!.Lookback);
        Assert.Equal(TimeSpan.FromHours(6), AnalysisSpec.DefaultLookback);
    }

    [Theory]
    [InlineData("    lookback: 25h", "longer than the maximum 24h")]
    [InlineData("    lookback: 30s", "shorter than spec.analysis.interval (1m)")]
    [InlineData("    interval: 5m\n    lookback: 4m", "shorter than spec.analysis.interval (5m)")]
    [InlineData("    lookback: -1m", "is not a duration")]
    [InlineData("    lookback: soon", "is not a duration")]
    public void A_look_back_out_of_range_is_refused_naming_the_field(string fields, string why)
    {
        var result = Parse(fields);
        Assert.False(result.IsValid);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("spec.analysis.lookback", problem.Field);
        Assert.Contains(why, problem.Message);
    }

    [Fact]
    public void Validate_shows_the_analysis_interval_and_look_back()
    {
        var report = new KubesteadOffline().ValidateSpec(Kubestead.Core.Tests.Analysis.BackgroundOffAlphaTests.Spec(true, 1, "    lookback: 2h"), "shop.yaml");
        var check = Assert.Single(report.Checks);
        Assert.Contains("analysis windows of 1m, the judges first learn from the control's last 2h (spec.analysis.lookback)", check.Message);
        var off = new KubesteadOffline().ValidateSpec(Kubestead.Core.Tests.Analysis.BackgroundOffAlphaTests.Spec(true, 1, "    lookback: 0s"), "shop.yaml");
        Assert.Contains("analysis windows of 1m, no history read (spec.analysis.lookback 0s)", Assert.Single(off.Checks).Message);
    }

    [Fact]
    public void A_refused_look_back_writes_nothing_to_the_cluster()
    {
        var cluster = new EmulatedCluster();
        var service = new KubesteadService(cluster, new KubesteadServiceOptions { Clock = TimeProvider.System });
        var yaml = Kubestead.Core.Tests.Analysis.BackgroundOffAlphaTests.Spec(true, 1, "    lookback: 48h");
        var e = Assert.ThrowsAny<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = yaml }, wait: false, CancellationToken.None).GetAwaiter().GetResult());
        Assert.Contains("spec.analysis.lookback", e.Message);
        Assert.Empty(cluster.Writes);
    }
}
