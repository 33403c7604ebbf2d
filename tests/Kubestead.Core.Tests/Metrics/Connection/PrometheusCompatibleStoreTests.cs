using Kubestead.Analysis;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// A differential test: the same samples in Prometheus and in VictoriaMetrics (a Prometheus-compatible store) must
/// give the same windows through the built-in queries, and so the same verdicts from the spec's judge.
/// </summary>
public class PrometheusCompatibleStoreTests
{
    [VictoriaMetricsFact]
    public async Task VictoriaMetrics_answers_the_builtin_queries_with_the_same_windows_and_verdicts_as_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        await using var vm = await VictoriaMetricsServer.StartAsync(text);
        var verdicts = new List<List<Verdict>>();
        var windows = new List<List<MetricWindow>>();
        foreach (var address in new[] { prom.Address, vm.Address })
        {
            var spec = RolloutSpecParser.Parse(PrometheusConnectionSpecTests.Spec("", address.ToString().TrimEnd('/'))).Spec!;
            var metric = spec.Analysis!.Metrics[0];
            var query = new PrometheusMetricProvider(new HttpClient()).Open(spec, metric);
            var judge = JudgeFactory.Create(metric);
            var seen = new List<Verdict>();
            var read = new List<MetricWindow>();
            for (var minute = 1; minute < 29; minute += 2)
            {
                var window = await query(PrometheusIntegrationTests.T0.AddMinutes(minute), PrometheusIntegrationTests.T0.AddMinutes(minute + 2), CancellationToken.None);
                read.Add(window);
                judge.Observe(window);
                seen.Add(judge.Evaluate());
            }
            verdicts.Add(seen);
            windows.Add(read);
        }
        var (first, last) = (PrometheusIntegrationTests.T0.AddMinutes(1), PrometheusIntegrationTests.T0.AddMinutes(3));
        Assert.Equal(at("shop-canary", last).Requests - at("shop-canary", first).Requests, windows[1][0].Canary.Requests);
        Assert.Equal(
            windows[0].Select(w => (w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures)),
            windows[1].Select(w => (w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures)));
        Assert.Equal(verdicts[0], verdicts[1]);
        // The data has a canary failing 25 times as often as stable: a judge that never decides would make this test vacuous.
        Assert.Contains(verdicts[0], v => v.Outcome == VerdictOutcome.Fail);
    }
}
