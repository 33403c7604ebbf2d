using System.Net;
using System.Text;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>
/// <see cref="PrometheusClient.QueryRangeAsync"/> reads its (large) answers as a JsonDocument, not as the JsonNode tree
/// the instant queries use: the same vectors, and a failed answer fails with the same message.
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

    private sealed class Canned(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
