using System.Globalization;
using System.Net;
using System.Text;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>
/// <see cref="PrometheusClient.QueryRangeAsync"/> reads its (large) answers token by token into one array per series
/// (<see cref="PrometheusRangeAnswer"/>), not as the JsonNode tree the instant queries use: the same vectors, and a failed
/// answer fails with the same message.
/// </summary>
public class PrometheusRangeAnswerTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static PrometheusClient Client(HttpStatusCode status, string body) =>
        new(new HttpClient(new Canned(status, body)), new Uri("http://127.0.0.1:9090/"));

    [Fact]
    public async Task Each_step_gets_every_series_point_at_it_with_its_labels_and_special_values()
    {
        var t0 = Start.ToUnixTimeSeconds();
        var body = $$$"""
            {"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"pod":"shop-a","code":"200"},"values":[[{{{t0}}},"10"],[{{{t0 + 15}}},"25.5"],[{{{t0 + 30}}},"NaN"]]},
              {"metric":{"pod":"shop-b"},"values":[[{{{t0 + 15}}},"+Inf"],[{{{t0 + 7}}},"99"]]}
            ]}}
            """;
        var vectors = await Client(HttpStatusCode.OK, body).QueryRangeAsync("q", Start, TimeSpan.FromSeconds(15), 2, CancellationToken.None);

        Assert.Equal([t0 * 1000, (t0 + 15) * 1000, (t0 + 30) * 1000], vectors.Keys.Order());
        var first = Assert.Single(vectors[t0 * 1000]);
        Assert.Equal(("shop-a", "200", 10.0), (first.Labels["pod"], first.Labels["code"], first.Value));
        var second = vectors[(t0 + 15) * 1000];
        Assert.Equal([("shop-a", 25.5), ("shop-b", double.PositiveInfinity)], second.Select(p => (p.Labels["pod"], p.Value)));
        Assert.True(double.IsNaN(Assert.Single(vectors[(t0 + 30) * 1000]).Value));
        // One label set per series, shared by its points (the history's differencing keys series by it).
        Assert.Same(first.Labels, second[0].Labels);
    }

    [Fact]
    public async Task A_failed_range_answer_names_the_server_the_status_and_Prometheus_error()
    {
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Client(HttpStatusCode.BadRequest,
                """{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}""")
            .QueryRangeAsync("q", Start, TimeSpan.FromSeconds(1), 20_000, CancellationToken.None));
        Assert.Contains("Prometheus at http://127.0.0.1:9090/ answered HTTP 400", e.Message);
        Assert.Contains("bad_data: exceeded maximum resolution of 11,000 points per timeseries", e.Message);

        var notJson = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Client(HttpStatusCode.BadGateway, "<html>bad gateway</html>")
            .QueryRangeAsync("q", Start, TimeSpan.FromSeconds(15), 2, CancellationToken.None));
        Assert.Contains("answered HTTP 502", notJson.Message);
        Assert.Contains("a body that is not JSON", notJson.Message);
    }

    [Fact]
    public async Task The_answer_is_read_whatever_its_property_order_and_absent_points_stay_apart_from_NaN_samples()
    {
        var t0 = Start.ToUnixTimeSeconds();
        // data before status, values before metric, unknown properties and a series without values; an escaped value, a
        // point between the asked steps and a label whose value is not a string.
        var body = $$$"""
            {"data":{"result":[
               {"values":[[{{{t0}}},"1\u0030"],[{{{t0 + 7}}},"5"],[{{{t0 + 30}}},"NaN"]],"histograms":[[1,{"count":"2"}]],"metric":{"pod":"shop-a","n":3}},
               {"metric":{"pod":"shop-b"}},
               {"metric":{"pod":"shop-c"},"values":[[{{{t0 + 15}}},"1e3"],[{{{t0 + 30}}},"-Inf"]]}
             ],"resultType":"matrix","stats":{"timings":{"evalTotalTime":0.1} } },"warnings":["x"],"status":"success"}
            """;
        var series = await Client(HttpStatusCode.OK, body).QueryRangeSeriesAsync("q", Start, TimeSpan.FromSeconds(15), 2, CancellationToken.None);

        Assert.Equal(["shop-a", "shop-c"], series.Select(s => s.Labels["pod"]));
        Assert.Equal("", series[0].Labels["n"]);
        Assert.Equal([true, false, true], series[0].Present);
        Assert.Equal(10.0, series[0].Values[0]);
        Assert.True(double.IsNaN(series[0].Values[1]) && double.IsNaN(series[0].Values[2]));
        Assert.Equal([false, true, true], series[1].Present);
        Assert.Equal([1000.0, double.NegativeInfinity], series[1].Values[1..]);
    }

    [Fact]
    public async Task Malformed_or_trailing_text_is_not_JSON_and_an_answer_that_is_not_an_object_fails()
    {
        foreach (var body in new[] { "", """{"status":"success","data":{"result":[""", """{"status":"success","data":{"result":[]}} trailing""" })
        {
            var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Client(HttpStatusCode.OK, body)
                .QueryRangeSeriesAsync("q", Start, TimeSpan.FromSeconds(15), 2, CancellationToken.None));
            Assert.Contains("a body that is not JSON", e.Message);
        }
        var array = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Client(HttpStatusCode.OK, "[1,2]")
            .QueryRangeSeriesAsync("q", Start, TimeSpan.FromSeconds(15), 2, CancellationToken.None));
        Assert.Contains("answered HTTP 200", array.Message);
    }

    /// <summary>
    /// Six hours of 200 pods (1,441 points a series, both queries) read and differenced: allocations are counted on this
    /// thread, which is deterministic. The JsonDocument reading with per-step vectors and per-window dictionaries that
    /// this replaced allocated about 550 bytes a point (bench/results/judges.md); what remains is the arrays and the
    /// windows themselves.
    /// </summary>
    [Fact]
    public void A_six_hour_history_of_200_pods_is_read_and_differenced_in_under_64_bytes_a_point()
    {
        const int pods = 200, windows = 1440;
        var times = Enumerable.Range(0, windows + 1).Select(i => (Start + TimeSpan.FromSeconds(15) * i).ToUnixTimeMilliseconds()).ToArray();
        byte[] Answer(int divisor)
        {
            var sb = new StringBuilder("""{"status":"success","data":{"resultType":"matrix","result":[""");
            for (var p = 0; p < pods; p++)
            {
                sb.Append(p > 0 ? "," : "").Append(CultureInfo.InvariantCulture, $$"""{"metric":{"pod":"shop-7d9f8c6b5-{{p:00000}}","instance":"10.0.0.{{p % 250}}:15090"},"values":[""");
                for (var i = 0; i <= windows; i++)
                    sb.Append(i > 0 ? "," : "").Append(CultureInfo.InvariantCulture, $"[{times[i] / 1000.0:0.###},\"{(30L * i + p) / divisor}\"]");
                sb.Append("]}");
            }
            return Encoding.UTF8.GetBytes(sb.Append("]}}").ToString());
        }
        var requestsBody = Answer(1);
        var failuresBody = Answer(100);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var requests = PrometheusRangeAnswer.Read(requestsBody, times)!;
        var failures = PrometheusRangeAnswer.Read(failuresBody, times)!;
        var history = ControlHistoryWindows.FromSeries(requests, failures, Start, TimeSpan.FromSeconds(15), windows);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(windows, history.Count);
        Assert.All(history, w => Assert.Equal(pods, w.Control.Pods!.Count));
        Assert.Equal(30L * pods, history[7].Control.Requests);
        var points = 2.0 * pods * (windows + 1);
        Assert.True(allocated / points < 64, $"{allocated / points:0.0} bytes a point ({allocated / 1e6:0.0} MB)");
    }

    private sealed class Canned(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
