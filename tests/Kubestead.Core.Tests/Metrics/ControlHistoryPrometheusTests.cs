using System.Globalization;
using System.Text;
using Kubestead.Analysis;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>Issue #29: an hour of the control's per-pod counters, backfilled into a real Prometheus, read back exactly as history windows.</summary>
public class ControlHistoryPrometheusTests
{
    /// <summary>A pod's counters at second s after T0: requests and failures, or null before it started.</summary>
    private sealed record Pod(string Workload, string Name, Func<long, (long Requests, long Failures)?> At);

    private static (long, long) Counts(long rps, long perMille, long seconds) => (rps * seconds, rps * seconds * perMille / 1000);

    private static readonly Pod[] Pods =
    [
        new("shop", "shop-7d9f8c6b5-aaaaa", s => Counts(10, 1, s)),
        new("shop", "shop-7d9f8c6b5-bbbbb", s => Counts(20, 2, s)),
        new("shop", "shop-7d9f8c6b5-ccccc", s => Counts(30, 6, s)),
        // Restarted 30 min 10 s in: both counters start again from zero.
        new("shop", "shop-7d9f8c6b5-ddddd", s => s < 1810 ? Counts(40, 5, s) : Counts(40, 5, s - 1810)),
        // Started 40 minutes in: its first scrape is at 40 min 15 s.
        new("shop", "shop-7d9f8c6b5-eeeee", s => s < 2415 ? null : Counts(25, 4, s - 2400)),
        // The canary's pod (it served before: history must not read it).
        new("shop-canary", "shop-canary-5c8b7d9f6-fffff", s => Counts(5, 300, s)),
    ];

    [PrometheusFact]
    public async Task An_hour_of_backfilled_per_pod_counters_comes_back_exact_per_pod_and_window()
    {
        var t0 = PrometheusIntegrationTests.T0;
        var sb = new StringBuilder("# TYPE istio_requests counter\n");
        foreach (var pod in Pods)
            foreach (var code in new[] { "200", "503" })
                for (var s = 0L; s <= 75 * 60; s += 15)
                {
                    if (pod.At(s) is not { } counts) continue;
                    var (r, f) = counts;
                    sb.Append(CultureInfo.InvariantCulture,
                        $"istio_requests_total{{reporter=\"destination\",destination_workload=\"{pod.Workload}\",destination_workload_namespace=\"web\",pod=\"{pod.Name}\",response_code=\"{code}\"}} {(code == "200" ? r - f : f)} {t0.ToUnixTimeSeconds() + s}\n");
                }
        sb.Append("# EOF\n");
        await using var prom = await PrometheusServer.StartAsync(sb.ToString());
        var source = new PrometheusMetricSource(new PrometheusClient(new HttpClient(), prom.Address),
            new PrometheusProviderSpec(prom.Address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10)), "web", "shop-canary", "shop") { WithLatency = false };
        var end = t0.AddMinutes(70);

        var history = await source.ControlHistoryAsync(end, TimeSpan.FromMinutes(1), 60, CancellationToken.None);

        Assert.Equal(60, history.Count);
        for (var i = 0; i < 60; i++)
        {
            var (from, to) = (600L + 60 * i, 660L + 60 * i);
            var window = history[i];
            Assert.Equal((t0.AddSeconds(from), t0.AddSeconds(to)), (window.Start, window.End));
            var expected = Pods.Where(p => p.Workload == "shop" && p.At(from) is not null && p.At(to) is { } e && e.Requests >= p.At(from)!.Value.Requests)
                .Select(p => new PodSample(p.Name, p.At(to)!.Value.Requests - p.At(from)!.Value.Requests, p.At(to)!.Value.Failures - p.At(from)!.Value.Failures))
                .ToList();
            Assert.Equal(expected, window.Control.Pods!);
            Assert.Equal((expected.Sum(p => p.Requests), expected.Sum(p => p.Failures)), (window.Control.Requests, window.Control.Failures));
            Assert.Equal(VersionSample.Empty, window.Canary);
        }
        // The restart's window and the new pod's first window leave that pod out; every other window holds it.
        Assert.DoesNotContain(history[20].Control.Pods!, p => p.Pod.EndsWith("ddddd", StringComparison.Ordinal));
        Assert.Contains(history[21].Control.Pods!, p => p.Pod.EndsWith("ddddd", StringComparison.Ordinal));
        Assert.DoesNotContain(history[30].Control.Pods!, p => p.Pod.EndsWith("eeeee", StringComparison.Ordinal));
        Assert.Equal(new PodSample("shop-7d9f8c6b5-eeeee", 25 * 60, 25 * 120 * 4 / 1000 - 25 * 60 * 4 / 1000), history[31].Control.Pods!.Single(p => p.Pod.EndsWith("eeeee", StringComparison.Ordinal)));
    }
}
