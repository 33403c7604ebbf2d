using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Metrics.Datadog;
using Kubestead.Metrics.Connection;
using Kubestead.Sandbox.Cluster;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.Datadog;

/// <summary>
/// The <c>datadog</c> provider against a local server answering the v1 query API's documented shapes (series with
/// pointlists, <c>{"errors": [...]}</c>), checking the DD-API-KEY and DD-APPLICATION-KEY headers. Every message is
/// checked for both keys.
/// </summary>
public class DatadogMetricProviderTests
{
    private const string Field = "spec.analysis.metrics[0].provider.datadog";
    private const string ApiKey = "dd-api-key-3c9a11";
    private const string AppKey = "dd-app-key-b04e72";
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private const string Queries =
        "requestsQuery: \"sum:trace.http.request.hits{kube_namespace:{{namespace}},kube_deployment:{{workload}}}.as_count()\"\n" +
        "failuresQuery: \"sum:trace.http.request.errors{kube_namespace:{{namespace}},kube_deployment:{{workload}}}.as_count()\"\n";

    private static string Block(Uri server) =>
        $"address: {server}\napiKey: {{secret: {{name: datadog, key: api-key}}}}\napplicationKey: {{secret: {{name: datadog, key: app-key}}}}\n" + Queries;

    private static IKubernetesApi Cluster()
    {
        var api = new EmulatedCluster();
        api.Seed(ResourceType.Secret, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "datadog", ["namespace"] = "web" },
            ["data"] = new JsonObject
            {
                ["api-key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(ApiKey)), ["app-key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(AppKey)),
            },
        });
        return api;
    }

    private static MetricWindowQuery Open(Uri server)
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog", Block(server)));
        return new DatadogMetricProvider(new HttpClient(), new TlsHttpClients(), Cluster()).Open(spec, spec.Analysis!.Metrics[0]);
    }

    /// <summary>
    /// Answers as Datadog does: 403 without both keys; the query parameter split at its top-level commas, each part's
    /// points from <paramref name="points"/> (query, from, to) in a series tagged with the part's query_index.
    /// </summary>
    private static Func<HttpContext, Task> Datadog(Func<string, long, long, IEnumerable<(long Ms, double? Value)>> points) => async ctx =>
    {
        if (ctx.Request.Headers["DD-API-KEY"] != ApiKey || ctx.Request.Headers["DD-APPLICATION-KEY"] != AppKey)
        {
            ctx.Response.StatusCode = 403;
            await ctx.Response.WriteAsync($"{{\"errors\":[\"Forbidden\", \"key {ctx.Request.Headers["DD-API-KEY"]}\"]}}");
            return;
        }
        var (q, from, to) = (ctx.Request.Query["query"].ToString(), long.Parse(ctx.Request.Query["from"]!), long.Parse(ctx.Request.Query["to"]!));
        var series = new JsonArray();
        foreach (var (part, index) in TopLevelParts(q).Select((p, i) => (p, i)))
        {
            var list = points(part, from, to).ToList();
            if (list.Count == 0) continue;
            series.Add(new JsonObject
            {
                ["metric"] = "trace.http.request.hits", ["aggr"] = "sum", ["expression"] = part, ["scope"] = "kube_deployment:x", ["interval"] = 60,
                ["length"] = list.Count, ["query_index"] = index,
                ["pointlist"] = new JsonArray(list.Select(p => (JsonNode)new JsonArray((double)p.Ms, p.Value is { } v ? JsonValue.Create(v) : null)).ToArray()),
            });
        }
        await ctx.Response.WriteAsync(new JsonObject
        {
            ["status"] = "ok", ["res_type"] = "time_series", ["query"] = q, ["from_date"] = from * 1000, ["to_date"] = to * 1000, ["series"] = series,
        }.ToJsonString());
    };

    private static List<string> TopLevelParts(string q)
    {
        var (parts, depth, begin) = (new List<string>(), 0, 0);
        for (var i = 0; i < q.Length; i++)
        {
            depth += q[i] switch { '{' or '(' => 1, '}' or ')' => -1, _ => 0 };
            if (q[i] == ',' && depth == 0) (parts, begin) = ([.. parts, q[begin..i]], i + 1);
        }
        return [.. parts, q[begin..]];
    }

    [Theory]
    [InlineData("requestsQuery: \"sum:trace.http.request.hits{*}.as_count()\"\nfailuresQuery: \"sum:x{kube_deployment:{{workload}}}.as_count()\"\n", "requestsQuery", "cannot be told apart")]
    [InlineData("requestsQuery: \"sum:x{kube_deployment:{{workload}}}.as_rate()\"\nfailuresQuery: \"sum:x{kube_deployment:{{workload}}}.as_count()\"\n", "requestsQuery", "turns counts into a rate")]
    [InlineData("requestsQuery: \"sum:x{pod:{{pod}}}.as_count()\"\nfailuresQuery: \"sum:x{kube_deployment:{{workload}}}.as_count()\"\n", "requestsQuery", "uses {{pod}}")]
    public void A_query_that_cannot_count_per_version_is_refused(string queries, string field, string message)
    {
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(ProviderSpecs.Spec("datadog",
            "apiKey: {file: /keys/api}\napplicationKey: {file: /keys/app}\n" + queries)).Problems;
        Assert.Contains(problems, p => p.Field == $"{Field}.{field}" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("apiKey: " + ApiKey + "\napplicationKey: {file: /keys/app}\n" + Queries, "apiKey", "must not be written in the spec")]
    [InlineData("apiKey: {file: /keys/api}\n" + Queries, "applicationKey", "required field is missing")]
    [InlineData("site: datadog hq\napiKey: {file: /keys/api}\napplicationKey: {file: /keys/app}\n" + Queries, "site", "is not a Datadog site")]
    public void Keys_come_from_files_or_secrets_and_the_site_is_checked(string block, string field, string message)
    {
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(ProviderSpecs.Spec("datadog", block)).Problems;
        var problem = Assert.Single(problems, p => p.Field == $"{Field}.{field}");
        Assert.Contains(message, problem.Message);
        Assert.DoesNotContain(ApiKey, problem.Message);
    }

    [Fact]
    public void The_site_selects_the_api_host_and_the_keys_are_sent_as_headers()
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog", "site: datadoghq.eu\napiKey: {file: /keys/api}\napplicationKey: {secret: {name: dd, key: app}}\n" + Queries));
        var dd = Assert.IsType<DatadogProviderSpec>(spec.Analysis!.Metrics[0].Provider);
        Assert.Equal(new Uri("https://api.datadoghq.eu/"), dd.Address);
        Assert.Equal(["DD-API-KEY", "DD-APPLICATION-KEY"], dd.Connection.SecretHeaders!.Select(h => h.Name));
        Assert.True(dd.ReadsSecrets);
        Assert.False(dd.ReturnsLatency);
    }

    [Fact]
    public async Task A_window_sums_the_points_inside_it_per_version_and_query()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Datadog((q, from, _) =>
        {
            var canary = q.Contains("kube_deployment:shop-canary");
            var value = q.Contains(".hits{") ? (canary ? 60.0 : 2400.0) : (canary ? 3.0 : 2.0);
            // A point before the window (a rollup bucket that began earlier) and a null point are not counted.
            return [((from - 60) * 1000, 999), (from * 1000, value), ((from + 60) * 1000, null), ((from + 60) * 1000, value)];
        }));
        var window = await Open(server.Address)(T, T.AddMinutes(2), CancellationToken.None);
        Assert.Equal(new VersionSample(120, 6), window.Canary);
        Assert.Equal(new VersionSample(4800, 4), window.Control);
        // One request per window: both versions' requests and failures as four queries of one query parameter.
        Assert.Single(server.Requests);
        Assert.Contains(server.Requests, r => r.Path == "/api/v1/query" && r.Query.Contains(Uri.EscapeDataString("kube_namespace:web,kube_deployment:shop-canary")));
    }

    [Fact]
    public async Task A_query_that_is_itself_a_list_is_summed_and_a_series_without_query_index_is_refused()
    {
        // Two metrics as one requests query: their series take query indexes 0 and 1, failures 2, then the control's 3-5.
        const string listed =
            "requestsQuery: \"sum:a.hits{kube_deployment:{{workload}}}.as_count(), sum:b.hits{kube_deployment:{{workload}}}.as_count()\"\n" +
            "failuresQuery: \"sum:a.errors{kube_deployment:{{workload}}}.as_count()\"\n";
        var noIndex = false;
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            if (!noIndex)
            {
                await Datadog((q, from, _) => [(from * 1000, q.Contains(".hits{") ? (q.Contains("shop-canary") ? 10.0 : 100.0) : 1.0)])(ctx);
                return;
            }
            await ctx.Response.WriteAsync("{\"status\":\"ok\",\"series\":[{\"pointlist\":[[1700000000000,5]]}]}");
        });
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog",
            $"address: {server.Address}\napiKey: {{secret: {{name: datadog, key: api-key}}}}\napplicationKey: {{secret: {{name: datadog, key: app-key}}}}\n" + listed));
        var query = new DatadogMetricProvider(new HttpClient(), new TlsHttpClients(), Cluster()).Open(spec, spec.Analysis!.Metrics[0]);

        var window = await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(new VersionSample(20, 1), window.Canary);
        Assert.Equal(new VersionSample(200, 1), window.Control);
        Assert.Single(server.Requests);

        noIndex = true;
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Contains("answered a series without a query_index between 0 and 5", e.Message);
    }

    [Fact]
    public async Task No_series_is_insufficient_data_never_a_pass()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Datadog((_, _, _) => []));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog", Block(server.Address)));
        var window = await Open(server.Address)(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(VersionSample.Empty, window.Canary);
        ProviderSpecs.AssertInsufficientData(spec, window);
    }

    [Fact]
    public async Task Throttling_errors_and_refused_keys_are_named_without_the_keys()
    {
        var mode = "429";
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            switch (mode)
            {
                case "429":
                    ctx.Response.StatusCode = 429;
                    ctx.Response.Headers.RetryAfter = "9";
                    await ctx.Response.WriteAsync("{\"errors\":[\"Too many requests\"]}");
                    break;
                case "400":
                    ctx.Response.StatusCode = 400;
                    await ctx.Response.WriteAsync("{\"errors\":[\"Error parsing query: unable to parse sum:x{: Rule 'scope_expr' didn't match\"]}");
                    break;
                default:
                    await Datadog((_, _, _) => [])(ctx);
                    break;
            }
        });
        var at = $"Datadog at {server.Address}";
        var query = Open(server.Address);
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}.requestsQuery, {Field}.failuresQuery) answered HTTP 429 Too Many Requests (retry after 9s): Too many requests", e.Message);
        mode = "400";
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.StartsWith($"{at} ({Field}.requestsQuery, {Field}.failuresQuery) answered HTTP 400 Bad Request: Error parsing query", e.Message);

        // Wrong keys: the server echoes the key it was sent; the message names both key fields and carries neither key.
        mode = "auth";
        var api = Cluster();
        var secret = await api.GetAsync(ResourceType.Secret, "web", "datadog");
        secret["data"]!["api-key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("old-" + ApiKey));
        await api.ReplaceAsync(ResourceType.Secret, "web", "datadog", secret);
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog", Block(server.Address)));
        var refused = new DatadogMetricProvider(new HttpClient(), new TlsHttpClients(), api).Open(spec, spec.Analysis!.Metrics[0]);
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => refused(T, T.AddMinutes(1), CancellationToken.None));
        Assert.StartsWith($"{at} ({Field}.apiKey or {Field}.applicationKey) answered HTTP 403 Forbidden: the credentials were refused", e.Message);
        Assert.DoesNotContain(ApiKey, e.ToString());
        Assert.DoesNotContain(AppKey, e.ToString());
    }

    [PrometheusFact]
    public async Task The_same_traffic_gives_the_same_verdicts_as_through_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        // Datadog answers per-minute counts (.as_count() rolled up by minute) from the same counters Prometheus holds.
        await using var server = await LoopbackHttpServer.StartAsync(Datadog((q, from, to) =>
        {
            var w = q.Contains("kube_deployment:shop-canary") ? "shop-canary" : "shop";
            var failures = q.Contains(".errors{");
            return Enumerable.Range(0, (int)((to - from) / 60)).Select(i =>
            {
                var (a, b) = (at(w, DateTimeOffset.FromUnixTimeSeconds(from + 60 * i)), at(w, DateTimeOffset.FromUnixTimeSeconds(from + 60 * (i + 1))));
                return ((from + 60 * i) * 1000, (double?)(failures ? b.Failures - a.Failures : b.Requests - a.Requests));
            });
        }));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("datadog", Block(server.Address)));
        await ProviderSpecs.AssertSameVerdictsAsPrometheusAsync(prom, spec,
            new DatadogMetricProvider(new HttpClient(), new TlsHttpClients(), Cluster()).Open(spec, spec.Analysis!.Metrics[0]));
    }
}
