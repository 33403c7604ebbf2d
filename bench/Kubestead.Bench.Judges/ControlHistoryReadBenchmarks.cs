using System.Globalization;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Kubestead.Analysis;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Bench.Judges;

/// <summary>
/// What reading the control's history costs once per rollout (issue #29, round 9 made the default look-back six hours):
/// <see cref="PrometheusMetricSource.ControlHistoryAsync"/> over a canned <c>query_range</c> answer of
/// <see cref="Pods"/> series (one per pod, the builtins' sum by pod) at 15 s steps, an hour (240 windows) or six hours
/// (1,440). The answer is served from memory (no network), so this is parsing and differencing alone.
/// </summary>
[MemoryDiagnoser]
public class ControlHistoryReadBenchmarks
{
    private static readonly DateTimeOffset End = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(15);

    [Params(20, 200)]
    public int Pods { get; set; }

    [Params(240, 1440)]
    public int Windows { get; set; }

    private PrometheusMetricSource _source = null!;

    [GlobalSetup]
    public void Setup()
    {
        var first = End - Step * Windows;
        string Answer(bool failures)
        {
            var sb = new StringBuilder("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[");
            for (var p = 0; p < Pods; p++)
            {
                if (p > 0) sb.Append(',');
                sb.Append(CultureInfo.InvariantCulture, $"{{\"metric\":{{\"pod\":\"shop-7d9f8c6b5-{p:00000}\"}},\"values\":[");
                for (var i = 0; i <= Windows; i++)
                {
                    if (i > 0) sb.Append(',');
                    var t = (first + Step * i).ToUnixTimeMilliseconds() / 1000.0;
                    var requests = 30L * i + p;
                    sb.Append(CultureInfo.InvariantCulture, $"[{t:0.###},\"{(failures ? requests / 100 : requests)}\"]");
                }
                sb.Append("]}");
            }
            return sb.Append("]}}").ToString();
        }
        var requestsBody = Answer(false);
        var failuresBody = Answer(true);
        var http = new HttpClient(new CannedHandler(uri => Uri.UnescapeDataString(uri.Query).Contains("503", StringComparison.Ordinal) || Uri.UnescapeDataString(uri.Query).Contains("5..", StringComparison.Ordinal) ? failuresBody : requestsBody));
        var address = new Uri("http://127.0.0.1:9090/");
        _source = new PrometheusMetricSource(new PrometheusClient(http, address),
            new PrometheusProviderSpec(address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10)), "web", "shop-canary", "shop") { WithLatency = false };
    }

    [Benchmark(Description = "control history: query_range x2, parse, difference")]
    public async Task<int> Read() => (await _source.ControlHistoryAsync(End, Step, Windows, CancellationToken.None)).Count;

    private sealed class CannedHandler(Func<Uri, string> body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body(request.RequestUri!), Encoding.UTF8, "application/json") });
    }
}
