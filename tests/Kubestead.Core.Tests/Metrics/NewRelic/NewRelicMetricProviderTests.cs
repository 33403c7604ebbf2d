using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Metrics;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.NewRelic;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.NewRelic;

/// <summary>
/// The <c>newRelic</c> provider against a local NerdGraph answering its documented shapes: results under
/// data.actor.account.nrql, GraphQL errors with HTTP 200, throttling. The API key comes from a file and is checked
/// for in every message.
/// </summary>
public sealed class NewRelicMetricProviderTests : IDisposable
{
    private const string Field = "spec.analysis.metrics[0].provider.newRelic";
    private const string ApiKey = "NRAK-TESTKEY0123456789ABCDEF";
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-nr-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Block(Uri server)
    {
        File.WriteAllText(Path.Combine(_dir, "key"), ApiKey + "\n");
        return $"accountId: 1234567\naddress: {server}graphql\napiKey: {{file: {_dir}/key}}\n";
    }

    private MetricWindowQuery Open(Uri server)
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("newRelic", Block(server)));
        return new NewRelicMetricProvider(new HttpClient(), new TlsHttpClients()).Open(spec, spec.Analysis!.Metrics[0]);
    }

    /// <summary>NerdGraph: 200 with GraphQL errors for a bad key (as it does), else the results <paramref name="results"/> gives for the NRQL.</summary>
    private static Func<HttpContext, Task> NerdGraph(Func<string, JsonArray> results) => async ctx =>
    {
        var body = JsonNode.Parse(await new StreamReader(ctx.Request.Body).ReadToEndAsync())!;
        if (ctx.Request.Headers["API-Key"] != ApiKey)
        {
            await ctx.Response.WriteAsync($"{{\"errors\":[{{\"message\":\"Invalid API key: {ctx.Request.Headers["API-Key"]}\",\"extensions\":{{\"errorClass\":\"UNAUTHORIZED\"}}}}],\"data\":null}}");
            return;
        }
        Assert.Equal(1234567, body["variables"]!["accountId"]!.GetValue<int>());
        var nrql = body["variables"]!["nrql"]!.GetValue<string>();
        await ctx.Response.WriteAsync(new JsonObject
        {
            ["data"] = new JsonObject { ["actor"] = new JsonObject { ["account"] = new JsonObject { ["nrql"] = new JsonObject { ["results"] = results(nrql) } } } },
        }.ToJsonString());
    };

    [Theory]
    [InlineData("query: \"SELECT count(*) AS requests FROM Transaction\"\n", "query", "cannot be told apart")]
    [InlineData("query: \"SELECT count(*) AS requests FROM Transaction WHERE appName = '{{workload}}' SINCE 1 hour ago\"\n", "query", "must not give SINCE")]
    [InlineData("region: mars\n", "region", "")]
    [InlineData("apiKey: NRAK-INLINE\n", "apiKey", "must not be written in the spec")]
    public void A_spec_is_refused_naming_the_field(string extra, string field, string message)
    {
        var block = "accountId: 1\napiKey: {file: /keys/nr}\n" + extra;
        if (extra.StartsWith("apiKey", StringComparison.Ordinal)) block = "accountId: 1\n" + extra;
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(ProviderSpecs.Spec("newRelic", block)).Problems;
        Assert.Contains(problems, p => p.Field == $"{Field}.{field}" && p.Message.Contains(message, StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Message.Contains("NRAK-INLINE", StringComparison.Ordinal));
    }

    [Fact]
    public void The_eu_region_selects_its_endpoint()
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("newRelic", "accountId: 1\nregion: eu\napiKey: {file: /keys/nr}\n"));
        Assert.Equal(new Uri("https://api.eu.newrelic.com/graphql"), Assert.IsType<NewRelicProviderSpec>(spec.Analysis!.Metrics[0].Provider).Address);
    }

    [Fact]
    public async Task A_window_is_one_nrql_query_per_version_with_the_window_in_epoch_milliseconds()
    {
        var sent = new List<string>();
        await using var server = await LoopbackHttpServer.StartAsync(NerdGraph(nrql =>
        {
            lock (sent) sent.Add(nrql);
            return nrql.Contains("'shop-canary'")
                ? new JsonArray(new JsonObject { ["requests"] = 120, ["failures"] = 7 })
                : new JsonArray(new JsonObject { ["requests"] = 4800, ["failures"] = 5 });
        }));
        var window = await Open(server.Address)(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(new VersionSample(120, 7), window.Canary);
        Assert.Equal(new VersionSample(4800, 5), window.Control);
        Assert.Equal(
            "SELECT count(*) AS requests, filter(count(*), WHERE error IS true) AS failures FROM Transaction WHERE appName = 'shop-canary' SINCE 1700000000000 UNTIL 1700000060000",
            sent[0]);
    }

    [Fact]
    public async Task No_result_is_insufficient_data_never_a_pass()
    {
        await using var server = await LoopbackHttpServer.StartAsync(NerdGraph(_ => new JsonArray(new JsonObject { ["requests"] = 0, ["failures"] = 0 })));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("newRelic", Block(server.Address)));
        var window = await Open(server.Address)(T, T.AddMinutes(1), CancellationToken.None);
        ProviderSpecs.AssertInsufficientData(spec, window);
    }

    [Fact]
    public async Task Graphql_errors_throttling_and_a_refused_key_are_named_without_the_key()
    {
        var mode = "key";
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            if (mode == "429")
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = "5";
                return;
            }
            await NerdGraph(_ => [])(ctx);
        });
        File.WriteAllText(Path.Combine(_dir, "key"), "NRAK-OLD-" + ApiKey);
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("newRelic", $"accountId: 1234567\naddress: {server.Address}graphql\napiKey: {{file: {_dir}/key}}\n"));
        var query = new NewRelicMetricProvider(new HttpClient(), new TlsHttpClients()).Open(spec, spec.Analysis!.Metrics[0]);
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"New Relic at {server.Address}graphql ({Field}.apiKey) answered HTTP 200 OK: Invalid API key: ***", e.Message);
        Assert.DoesNotContain(ApiKey, e.ToString());
        mode = "429";
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"New Relic at {server.Address}graphql ({Field}.query) answered HTTP 429 Too Many Requests (retry after 5s)", e.Message);
    }

    [PrometheusFact]
    public async Task The_same_traffic_gives_the_same_verdicts_as_through_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        await using var server = await LoopbackHttpServer.StartAsync(NerdGraph(nrql =>
        {
            var w = nrql.Contains("'shop-canary'") ? "shop-canary" : "shop";
            var ms = System.Text.RegularExpressions.Regex.Match(nrql, @"SINCE (\d+) UNTIL (\d+)");
            var (a, b) = (at(w, DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms.Groups[1].Value))), at(w, DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms.Groups[2].Value))));
            return new JsonArray(new JsonObject { ["requests"] = b.Requests - a.Requests, ["failures"] = b.Failures - a.Failures });
        }));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("newRelic", Block(server.Address)));
        await ProviderSpecs.AssertSameVerdictsAsPrometheusAsync(prom, spec, new NewRelicMetricProvider(new HttpClient(), new TlsHttpClients()).Open(spec, spec.Analysis!.Metrics[0]));
    }
}
