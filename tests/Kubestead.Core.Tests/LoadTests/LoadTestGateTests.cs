using Kubestead.Analysis;
using Kubestead.LoadTests;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.LoadTests;

/// <summary>How a load test's evidence joins the gate: its own judges, its own queries, never the users' counts.</summary>
public class LoadTestGateTests
{
    private static Verdict V(string metric, VerdictOutcome outcome) => new("sequential", metric, outcome, 0, 0, 0, 0, null, null, null, null, "");

    [Fact]
    public void A_metric_passes_on_its_load_test_evidence_when_its_users_are_too_few()
    {
        Assert.Equal(GateOutcome.Pass, AnalysisGate.Combine([V("errors", VerdictOutcome.InsufficientData), V("errors@loadTest", VerdictOutcome.Pass)], true));
        Assert.Equal(GateOutcome.Pass, AnalysisGate.Combine([V("errors", VerdictOutcome.Pass), V("errors@loadTest", VerdictOutcome.InsufficientData)], true));
    }

    [Fact]
    public void Either_evidence_failing_fails_and_every_metric_must_pass()
    {
        Assert.Equal(GateOutcome.Fail, AnalysisGate.Combine([V("errors", VerdictOutcome.Pass), V("errors@loadTest", VerdictOutcome.Fail)], true));
        Assert.Equal(GateOutcome.InsufficientData, AnalysisGate.Combine(
            [V("errors", VerdictOutcome.InsufficientData), V("errors@loadTest", VerdictOutcome.Pass), V("latency", VerdictOutcome.InsufficientData), V("latency@loadTest", VerdictOutcome.InsufficientData)], true));
        // Without a load test nothing changes: every metric passes on its own.
        Assert.Equal(GateOutcome.InsufficientData, AnalysisGate.Combine([V("errors", VerdictOutcome.Pass), V("latency", VerdictOutcome.InsufficientData)], true));
    }

    [Fact]
    public void Each_metric_gets_a_load_test_sibling_judged_at_half_its_level()
    {
        var spec = RolloutSpecParser.Parse(File.ReadAllText(Path.Combine(RepoPaths.Examples, "sandbox", "istio.yaml"))
            .Replace("  analysis:\n    interval: 10s\n", "  analysis:\n    interval: 10s\n    loadTest: {url: 'http://shop/', requestsPerSecond: 5}\n")).Spec!;
        var gate = LoadTestMetrics.Of(spec.Analysis!);
        Assert.Equal(["error-rate", "error-rate@loadTest"], gate.Select(m => m.Name));
        Assert.Equal([false, true], gate.Select(m => m.LoadTestEvidence));
        var alone = JudgeFactory.GateShare(spec.Analysis!.Metrics, 1, true)(spec.Analysis.Metrics[0].Judge);
        var withLoadTest = JudgeFactory.GateShare(gate, 1, true)(gate[1].Judge);
        Assert.Equal(alone / 2, withLoadTest);
    }

    [Fact]
    public void Istio_queries_read_the_users_and_the_synthetic_requests_apart()
    {
        var provider = new PrometheusProviderSpec("http://p", "istio", null, null, null, TimeSpan.FromSeconds(5));
        PrometheusMetricSource Source(bool synthetic, bool control) => new(null!, provider, "shop", "shop-canary", "shop")
        {
            LoadTest = new LoadTestTraffic("kubestead_load_test", "shop", synthetic, control),
        };
        Assert.Contains("kubestead_load_test!=\"shop\"", Source(false, true).Queries("shop-canary").Requests);
        Assert.Contains("kubestead_load_test!=\"shop\"", Source(false, true).Queries("shop").Requests);
        Assert.Contains("kubestead_load_test=\"shop\"", Source(true, false).Queries("shop-canary").Failures);
        // Without a control stream the synthetic canary is compared with the control's users.
        Assert.Contains("kubestead_load_test!=\"shop\"", Source(true, false).Queries("shop").Requests);
        Assert.Contains("kubestead_load_test=\"shop\"", Source(true, true).Queries("shop").Buckets);
        Assert.DoesNotContain("kubestead_load_test", new PrometheusMetricSource(null!, provider, "shop", "shop-canary", "shop").Queries("shop-canary").Requests);
    }
}
