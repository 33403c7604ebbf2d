using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;
using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>
/// A Prometheus HTTP API in this process (no socket) whose range answers are built from per-pod counter functions:
/// a function returns null where the series has no point (absent at that step). Every request is recorded.
/// </summary>
public sealed class FakeRangePrometheus : HttpMessageHandler
{
    public static readonly Uri Address = new("http://127.0.0.1:9/");

    /// <summary>The request URIs, in order.</summary>
    public List<Uri> Requests { get; } = new();

    /// <summary>The requests query's series: labels and the value at each time (unix seconds), null when absent.</summary>
    public List<(JsonObject Labels, Func<long, double?> At)> RequestSeries { get; } = new();

    /// <summary>The failures query's series (the query holds <c>response_code=~"5.."</c>).</summary>
    public List<(JsonObject Labels, Func<long, double?> At)> FailureSeries { get; } = new();

    /// <summary>When set, every request is answered with this status and body.</summary>
    public (int Status, string Body)? Refuse { get; set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (Requests) Requests.Add(request.RequestUri!);
        if (Refuse is { } refused)
            return Task.FromResult(new HttpResponseMessage((HttpStatusCode)refused.Status) { Content = new StringContent(refused.Body, Encoding.UTF8, "application/json") });
        var q = HttpUtility.ParseQueryString(request.RequestUri!.Query);
        var start = (long)double.Parse(q["start"]!, CultureInfo.InvariantCulture);
        var end = (long)double.Parse(q["end"]!, CultureInfo.InvariantCulture);
        var step = (long)double.Parse(q["step"]!, CultureInfo.InvariantCulture);
        var series = q["query"]!.Contains("response_code=~\"5..\"", StringComparison.Ordinal) ? FailureSeries : RequestSeries;
        var result = new JsonArray();
        foreach (var (labels, at) in series)
        {
            var values = new JsonArray();
            for (var t = start; t <= end; t += step)
                if (at(t) is { } v) values.Add((JsonNode)new JsonArray(t, v.ToString(CultureInfo.InvariantCulture)));
            if (values.Count > 0) result.Add((JsonNode)new JsonObject { ["metric"] = labels.DeepClone(), ["values"] = values });
        }
        var body = new JsonObject { ["status"] = "success", ["data"] = new JsonObject { ["resultType"] = "matrix", ["result"] = result } }.ToJsonString();
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }

    public static JsonObject Pod(string pod) => new() { ["pod"] = pod, ["instance"] = "10.0.0.1:15090" };

    /// <summary>The builtin istio source for namespace web, canary shop-canary and control shop, reading through this handler.</summary>
    public PrometheusMetricSource Source() =>
        new(new PrometheusClient(new HttpClient(this), Address), new PrometheusProviderSpec(Address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10)),
            "web", "shop-canary", "shop") { WithLatency = false };
}

/// <summary>Issue #29: the control's per-pod history read with one range request per query (<see cref="PrometheusMetricSource.ControlHistoryAsync"/>).</summary>
public class ControlHistoryTests
{
    private static readonly DateTimeOffset End = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>The step (0 = the first point, end − 6 min) a time in unix seconds is.</summary>
    private static long Step(long t) => (t - (End - 6 * Minute).ToUnixTimeSeconds()) / 60;

    [Fact]
    public async Task Each_window_holds_each_whole_pods_exact_counts_and_pods_that_reset_appear_or_vanish_are_left_out_of_that_window()
    {
        var prom = new FakeRangePrometheus();
        // a: 100 requests a minute from 10,000, its first failures (a series born at step 3) 2 a minute from then.
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => 10_000 + 100 * Step(t)));
        prom.FailureSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => Step(t) >= 3 ? 2 * (Step(t) - 2) : null));
        // b: 50 a minute, 1 failure a minute; restarted between steps 2 and 3 (both counters start again from 0).
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-bbbbb"), t => Step(t) <= 2 ? 5_000 + 50 * Step(t) : 50 * (Step(t) - 2) - 20));
        prom.FailureSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-bbbbb"), t => Step(t) <= 2 ? 400 + Step(t) : Step(t) - 2));
        // c: a pod that started between steps 2 and 3: its series appear at step 3 holding what it served before it.
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-ccccc"), t => Step(t) >= 3 ? 30 * (Step(t) - 2) : null));
        // d: a pod gone after step 3: its series vanish.
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-ddddd"), t => Step(t) <= 3 ? 7_000 + 70 * Step(t) : null));
        prom.FailureSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-ddddd"), t => Step(t) <= 3 ? 90 + 3 * Step(t) : null));

        var history = await prom.Source().ControlHistoryAsync(End, Minute, 6, CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 6).Select(i => End - (6 - i) * Minute), history.Select(w => w.Start));
        Assert.All(history, w => Assert.Equal(w.Start + Minute, w.End));
        Assert.All(history, w => Assert.Same(VersionSample.Empty, w.Canary));
        var pods = history.Select(w => w.Control.Pods!.Select(p => (p.Pod[^5..], p.Requests, p.Failures)).ToList()).ToList();
        Assert.Equal([("aaaaa", 100L, 0L), ("bbbbb", 50L, 1L), ("ddddd", 70L, 3L)], pods[0]);
        Assert.Equal([("aaaaa", 100L, 0L), ("bbbbb", 50L, 1L), ("ddddd", 70L, 3L)], pods[1]);
        // Step 2 -> 3: a's failure series is born (counts from zero), b reset (left out), c appeared (left out).
        Assert.Equal([("aaaaa", 100L, 2L), ("ddddd", 70L, 3L)], pods[2]);
        // Step 3 -> 4: d vanished (left out); b and c are counted again.
        Assert.Equal([("aaaaa", 100L, 2L), ("bbbbb", 50L, 1L), ("ccccc", 30L, 0L)], pods[3]);
        Assert.Equal([("aaaaa", 100L, 2L), ("bbbbb", 50L, 1L), ("ccccc", 30L, 0L)], pods[4]);
        Assert.Equal([("aaaaa", 100L, 2L), ("bbbbb", 50L, 1L), ("ccccc", 30L, 0L)], pods[5]);
        Assert.All(history, w => Assert.Equal((w.Control.Pods!.Sum(p => p.Requests), w.Control.Pods!.Sum(p => p.Failures)), (w.Control.Requests, w.Control.Failures)));

        // One range request per query, over [end − 6 min, end] at the interval, for the control only.
        Assert.Equal(2, prom.Requests.Count);
        Assert.All(prom.Requests, u => Assert.Equal("/api/v1/query_range", u.AbsolutePath));
        var queries = prom.Requests.Select(u => HttpUtility.ParseQueryString(u.Query)).ToList();
        Assert.Equal(
            ["sum by (pod, instance) (istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"web\",destination_workload=\"shop\"})",
             "sum by (pod, instance) (istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"web\",destination_workload=\"shop\",response_code=~\"5..\"})"],
            queries.Select(q => q["query"]));
        Assert.All(queries, q => Assert.Equal(((End - 6 * Minute).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), "60"),
            (q["start"], q["end"], q["step"])));
        Assert.DoesNotContain(queries, q => q["query"]!.Contains("shop-canary", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Steps_without_any_series_leave_their_windows_out_and_a_history_with_none_is_empty()
    {
        var prom = new FakeRangePrometheus();
        // The control's pods served from step 4 on only (a service younger than the look-back).
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => Step(t) >= 4 ? 100 * Step(t) : null));
        var history = await prom.Source().ControlHistoryAsync(End, Minute, 6, CancellationToken.None);
        Assert.Equal([End - 2 * Minute, End - Minute], history.Select(w => w.Start));
        Assert.All(history, w => Assert.Equal((100L, 0L), (w.Control.Requests, w.Control.Failures)));

        prom.RequestSeries.Clear();
        Assert.Empty(await prom.Source().ControlHistoryAsync(End, Minute, 6, CancellationToken.None));
    }

    [Fact]
    public async Task A_look_back_longer_than_Prometheus_answers_keeps_its_most_recent_windows_in_one_request_per_query()
    {
        var prom = new FakeRangePrometheus();
        prom.RequestSeries.Add((FakeRangePrometheus.Pod("shop-7d9f8c6b5-aaaaa"), t => t - 1_700_000_000));
        var interval = TimeSpan.FromSeconds(5);
        // 24 hours at 5 s is 17,280 windows; Prometheus refuses more than 11,000 points per series.
        var history = await prom.Source().ControlHistoryAsync(End, interval, 17_280, CancellationToken.None);
        Assert.Equal(PrometheusMetricSource.MaxHistoryWindows, history.Count);
        Assert.Equal(End - interval * PrometheusMetricSource.MaxHistoryWindows, history[0].Start);
        Assert.Equal(End, history[^1].End);
        Assert.All(history, w => Assert.Equal(5, w.Control.Requests));
        Assert.Equal(2, prom.Requests.Count);
        var q = HttpUtility.ParseQueryString(prom.Requests[0].Query);
        var points = (double.Parse(q["end"]!, CultureInfo.InvariantCulture) - double.Parse(q["start"]!, CultureInfo.InvariantCulture)) / double.Parse(q["step"]!, CultureInfo.InvariantCulture) + 1;
        Assert.True(points <= 11_000, $"{points} points");
    }

    [Fact]
    public async Task A_refused_range_query_throws_the_metrics_error()
    {
        var prom = new FakeRangePrometheus { Refuse = (422, """{"status":"error","errorType":"execution","error":"query timed out"}""") };
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => prom.Source().ControlHistoryAsync(End, Minute, 60, CancellationToken.None));
        Assert.Contains("query timed out", e.Message);
    }
}
