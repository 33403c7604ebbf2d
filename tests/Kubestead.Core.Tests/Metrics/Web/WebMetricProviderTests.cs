using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Web;
using Kubestead.Specs;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.Web;

/// <summary>
/// The generic <c>web</c> source against a local server answering JSON: counts per version and window from JSON paths,
/// empty answers as insufficient data, errors and throttling named, and the same verdicts as Prometheus on the same traffic.
/// </summary>
public class WebMetricProviderTests
{
    private const string Field = "spec.analysis.metrics[0].provider.web";
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static string Spec(string block) => ProviderSpecs.Spec("web", block);

    private static MetricWindowQuery Open(string block)
    {
        var spec = ProviderSpecs.Parse(Spec(block));
        return new WebMetricProvider(new HttpClient()).Open(spec, spec.Analysis!.Metrics[0]);
    }

    private static string Block(Uri server, string path = "counts") =>
        $"url: \"{server}{path}?service={{{{workload}}}}&ns={{{{namespace}}}}&from={{{{start}}}}&to={{{{end}}}}\"\nrequestsPath: $.data.requests\nfailuresPath: \"{{$.data.errors}}\"\n";

    [Theory]
    [InlineData("url: https://stats.example/counts\nrequestsPath: $.r\nfailuresPath: $.f\n", "url", "cannot be told apart")]
    [InlineData("url: \"https://stats.example/{{workload}}/{{service}}\"\nrequestsPath: $.r\nfailuresPath: $.f\n", "url", "uses {{service}}")]
    [InlineData("url: \"ftp://stats.example/{{workload}}\"\nrequestsPath: $.r\nfailuresPath: $.f\n", "url", "not an http(s) URL")]
    [InlineData("url: \"https://stats.example/{{workload}}\"\nrequestsPath: $.items[?(@.ok)]\nfailuresPath: $.f\n", "requestsPath", "not a JSONPath to one value")]
    [InlineData("url: \"https://stats.example/{{workload}}\"\nrequestsPath: $.r\n", "failuresPath", "required field is missing")]
    [InlineData("url: \"https://stats.example/{{workload}}\"\nrequestsPath: $.r\nfailuresPath: $.f\nbearerToken: abc-token\n", "bearerToken", "must not be written in the spec")]
    public void A_web_source_is_refused_at_validation_naming_the_field(string block, string field, string message)
    {
        var problems = RolloutSpecParser.Parse(Spec(block)).Problems;
        Assert.Contains(problems, p => p.Field == $"{Field}.{field}" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_latency_judge_on_a_web_source_is_refused()
    {
        var yaml = Spec("url: \"https://stats.example/{{workload}}\"\nrequestsPath: $.r\nfailuresPath: $.f\n")
            .Replace("            detectRatio: 5\n", "            detectRatio: 5\n            latencyThresholdMs: 250\n");
        var problem = Assert.Single(RolloutSpecParser.Parse(yaml).Problems);
        Assert.Equal("spec.analysis.metrics[0].judge", problem.Field);
        Assert.Contains("reads latency, which the web provider does not return", problem.Message);
    }

    [Fact]
    public async Task Counts_per_version_come_from_the_json_paths_with_the_window_in_the_url()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => ctx.Response.WriteAsync(
            ctx.Request.Query["service"] == "shop-canary"
                ? "{\"data\":{\"requests\":120,\"errors\":\"7\"}}"
                : "{\"data\":{\"requests\":4800.0,\"errors\":5}}"));
        var window = await Open(Block(server.Address) + "headers: {X-Team: shop}\n")(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(new VersionSample(120, 7), window.Canary);
        Assert.Equal(new VersionSample(4800, 5), window.Control);
        Assert.Equal(2, server.Requests.Count);
        Assert.Contains(server.Requests, r => r.Query == $"?service=shop-canary&ns=web&from={T.ToUnixTimeSeconds()}&to={T.AddMinutes(1).ToUnixTimeSeconds()}");
        Assert.All(server.Requests, r => Assert.Equal("shop", r.Headers["X-Team"]));
    }

    [Fact]
    public async Task An_empty_answer_is_insufficient_data_never_a_pass()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => ctx.Response.WriteAsync("{\"data\":{\"requests\":[]}}"));
        var spec = RolloutSpecParser.Parse(Spec(Block(server.Address))).Spec!;
        var window = await Open(Block(server.Address))(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(new VersionSample(0, 0), window.Canary);
        ProviderSpecs.AssertInsufficientData(spec, window);
    }

    [Fact]
    public async Task Errors_throttling_and_a_value_that_is_not_a_count_are_named_without_the_query_string()
    {
        var mode = "429";
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            switch (mode)
            {
                case "429":
                    ctx.Response.StatusCode = 429;
                    ctx.Response.Headers.RetryAfter = "12";
                    break;
                case "500":
                    ctx.Response.StatusCode = 500;
                    await ctx.Response.WriteAsync("<html><title>500 Internal Server Error</title></html>");
                    break;
                default:
                    await ctx.Response.WriteAsync("{\"data\":{\"requests\":{\"total\":3},\"errors\":0}}");
                    break;
            }
        });
        var query = Open(Block(server.Address, "counts/api-key-4f2a"));
        var at = $"web source at {server.Address.GetLeftPart(UriPartial.Authority)}";
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}.url) answered HTTP 429 Too Many Requests (retry after 12s)", e.Message);
        mode = "500";
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}.url) answered HTTP 500 Internal Server Error: 500 Internal Server Error", e.Message);
        mode = "object";
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}.requestsPath): $.data.requests is an object, not a count", e.Message);
        Assert.DoesNotContain("api-key-4f2a", e.Message);
    }

    [PrometheusFact]
    public async Task The_same_traffic_gives_the_same_windows_and_verdicts_as_through_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        // The web source answers each window's counts from the same counters Prometheus holds.
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            var w = ctx.Request.Query["service"].ToString();
            var (from, to) = (DateTimeOffset.FromUnixTimeSeconds(long.Parse(ctx.Request.Query["from"]!)), DateTimeOffset.FromUnixTimeSeconds(long.Parse(ctx.Request.Query["to"]!)));
            return ctx.Response.WriteAsync(new JsonObject
            {
                ["data"] = new JsonObject { ["requests"] = at(w, to).Requests - at(w, from).Requests, ["errors"] = at(w, to).Failures - at(w, from).Failures },
            }.ToJsonString());
        });
        var webSpec = ProviderSpecs.Parse(Spec(Block(server.Address)));
        await ProviderSpecs.AssertSameVerdictsAsPrometheusAsync(prom, webSpec, new WebMetricProvider(new HttpClient()).Open(webSpec, webSpec.Analysis!.Metrics[0]));
    }
}
