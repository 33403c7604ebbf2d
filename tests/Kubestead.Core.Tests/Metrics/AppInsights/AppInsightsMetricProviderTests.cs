using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Metrics;
using Kubestead.Metrics.AppInsights;
using Kubestead.Metrics.Connection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Kubestead.Core.Tests.Metrics.AppInsights;

/// <summary>
/// The <c>appInsights</c> provider against a local server answering the query API's documented shapes (a table of
/// columns and rows; Azure's error object), with an Entra ID token from a local authority that checks the workload
/// identity exchange. Every message is checked for the federated token and the access token.
/// </summary>
public class AppInsightsMetricProviderTests
{
    private const string Field = "spec.analysis.metrics[0].provider.appInsights";
    private const string AppId = "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345";
    private const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private const string ClientId = "6a3f4c02-1d5e-4f7b-9c1a-0b2e3d4f5a6b";
    private const string FederatedToken = "eyJfederated.sa-token.c0ffee";
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static string Block(Uri server, string extra = "") =>
        $"appId: {AppId}\naddress: {server}\nentraId:\n  tenantId: {Tenant}\n  clientId: {ClientId}\n  tokenFile: {TokenFile}\n  authorityHost: {server}\n" + extra;

    private static readonly string TokenFile = WriteTokenFile();

    private static string WriteTokenFile()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("kubestead-entra-").FullName, "token");
        File.WriteAllText(path, FederatedToken + "\n");
        return path;
    }

    private static MetricWindowQuery Open(string block, TimeProvider? clock = null)
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("appInsights", block));
        return new AppInsightsMetricProvider(new HttpClient(), new TlsHttpClients(), clock: clock, environment: _ => null).Open(spec, spec.Analysis!.Metrics[0]);
    }

    /// <summary>
    /// A local authority and query API: tokens for a correct federated exchange (counted), the query answered by
    /// <paramref name="answer"/> when it carries the current token.
    /// </summary>
    private sealed class AzureServer
    {
        public int Tokens;

        public Func<JsonObject, HttpContext, Task> Answer = (_, ctx) => ctx.Response.WriteAsync(Table());

        public async Task HandleAsync(HttpContext ctx)
        {
            if (ctx.Request.Path == $"/{Tenant}/oauth2/v2.0/token")
            {
                var form = await ctx.Request.ReadFormAsync();
                if (form["client_assertion"] != FederatedToken || form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                    || form["client_id"] != ClientId || form["grant_type"] != "client_credentials" || form["scope"] != "https://api.applicationinsights.io/.default")
                {
                    ctx.Response.StatusCode = 400;
                    await ctx.Response.WriteAsJsonAsync(new { error = "invalid_client", error_description = $"AADSTS700213: no matching federated identity record for {form["client_assertion"]}" });
                    return;
                }
                Tokens++;
                await ctx.Response.WriteAsJsonAsync(new { token_type = "Bearer", expires_in = 3599, access_token = $"ai-access-{Tokens}-7d3b" });
                return;
            }
            if (ctx.Request.Path != $"/v1/apps/{AppId}/query" || ctx.Request.Method != "POST")
            {
                ctx.Response.StatusCode = 404;
                return;
            }
            if (ctx.Request.Headers.Authorization != $"Bearer ai-access-{Tokens}-7d3b")
            {
                ctx.Response.StatusCode = 401;
                await ctx.Response.WriteAsync($"{{\"error\":{{\"code\":\"InvalidAuthenticationTokenTenant\",\"message\":\"bad token {ctx.Request.Headers.Authorization}\"}}}}");
                return;
            }
            var body = (JsonObject)JsonNode.Parse(await new StreamReader(ctx.Request.Body).ReadToEndAsync())!;
            await Answer(body, ctx);
        }
    }

    /// <summary>A query answer in the documented shape: one table, a version column and counts.</summary>
    private static string Table(params (string Version, long Requests, long Failures, long[] Buckets)[] rows)
    {
        var buckets = rows.Length > 0 ? rows[0].Buckets.Length : 0;
        var columns = new JsonArray(new JsonObject { ["name"] = "version", ["type"] = "string" }, new JsonObject { ["name"] = "requests", ["type"] = "long" },
            new JsonObject { ["name"] = "failures", ["type"] = "long" });
        for (var i = 0; i < buckets; i++) columns.Add(new JsonObject { ["name"] = $"le_{i}", ["type"] = "long" });
        var table = new JsonArray();
        foreach (var row in rows)
        {
            var cells = new JsonArray(row.Version, row.Requests, row.Failures);
            foreach (var b in row.Buckets) cells.Add(b);
            table.Add(cells);
        }
        return new JsonObject { ["tables"] = new JsonArray(new JsonObject { ["name"] = "PrimaryResult", ["columns"] = columns, ["rows"] = table }) }.ToJsonString();
    }

    [Theory]
    [InlineData("appId: my-app\n", "appId", "is not an Application ID")]
    [InlineData("appId: " + AppId + "\nversionBy: application_Version\ncanary: 1.4.0\n", "control", "needs the version string of both")]
    [InlineData("appId: " + AppId + "\ncanary: shop\ncontrol: shop\n", "control", "could not tell the canary from its control")]
    [InlineData("appId: " + AppId + "\nversionBy: pod\n", "versionBy", "")]
    [InlineData("appId: " + AppId + "\ncanary: \"shop'|drop\"\n", "canary", "must be a role name or version")]
    [InlineData("appId: " + AppId + "\nentraId: {clientId: shop}\n", "entraId.clientId", "is not an application (client) id")]
    [InlineData("appId: " + AppId + "\nentraId: {scope: a b}\n", "entraId.scope", "must be one scope")]
    public void A_spec_is_refused_naming_the_field(string block, string field, string message)
    {
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(ProviderSpecs.Spec("appInsights", block)).Problems;
        Assert.Contains(problems, p => p.Field == $"{Field}.{field}" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_window_is_one_kql_query_by_role_with_a_workload_identity_token_kept_until_shortly_before_it_expires()
    {
        var azure = new AzureServer();
        JsonObject? sent = null;
        azure.Answer = (body, ctx) =>
        {
            sent = body;
            return ctx.Response.WriteAsync(Table(("shop-canary", 120, 7, []), ("shop", 4800, 5, [])));
        };
        await using var server = await LoopbackHttpServer.StartAsync(azure.HandleAsync);
        var clock = new FakeTimeProvider(T);
        var query = Open(Block(server.Address), clock);
        var window = await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(new VersionSample(120, 7), window.Canary);
        Assert.Equal(new VersionSample(4800, 5), window.Control);
        var kql = sent!["query"]!.GetValue<string>();
        Assert.Contains("| where timestamp >= datetime(2023-11-14T22:13:20.000Z) and timestamp < datetime(2023-11-14T22:14:20.000Z)", kql);
        Assert.Contains("| where cloud_RoleName in (\"shop-canary\", \"shop\")", kql);
        Assert.Contains("sum(itemCount)", kql);
        Assert.Equal("2023-11-14T22:13:20.000Z/2023-11-14T22:14:20.000Z", sent["timespan"]!.GetValue<string>());

        // The token (3599 s) is kept for later windows, and renewed once less than a minute of it is left.
        clock.Advance(TimeSpan.FromSeconds(3500));
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(1, azure.Tokens);
        clock.Advance(TimeSpan.FromSeconds(60));
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(2, azure.Tokens);
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task Application_versions_are_told_apart_by_application_Version_and_latency_comes_as_buckets_with_the_threshold_as_a_bound()
    {
        var azure = new AzureServer();
        string? kql = null;
        var bounds = RequestsQuery.BoundsWith(250);
        azure.Answer = (body, ctx) =>
        {
            kql = body["query"]!.GetValue<string>();
            return ctx.Response.WriteAsync(Table(("2.0.0", 100, 1, bounds.Select((b, i) => (long)Math.Min(100, i * 10)).ToArray())));
        };
        await using var server = await LoopbackHttpServer.StartAsync(azure.HandleAsync);
        var yaml = ProviderSpecs.Spec("appInsights", Block(server.Address, "versionBy: application_Version\ncanary: 2.0.0\ncontrol: 1.9.3\n"))
            .Replace("            detectRatio: 5\n", "            detectRatio: 5\n            latencyThresholdMs: 250\n");
        var spec = ProviderSpecs.Parse(yaml);
        var window = await new AppInsightsMetricProvider(new HttpClient(), new TlsHttpClients(), environment: _ => null)
            .Open(spec, spec.Analysis!.Metrics[0])(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Contains("| where application_Version in (\"2.0.0\", \"1.9.3\")", kql);
        Assert.Contains("le_5 = sumif(itemCount, duration <= 250)", kql);
        Assert.Equal([.. bounds, double.PositiveInfinity], window.Canary.Latency!.UpperBoundsMs);
        Assert.Equal(100, window.Canary.Latency.Total);
        Assert.Equal(50, window.Canary.Latency.CumulativeCounts[Array.IndexOf(bounds, 250.0)]);
        // No row for the control: it served nothing in the window.
        Assert.Equal(VersionSample.Empty, window.Control);
    }

    [Fact]
    public async Task An_empty_table_is_insufficient_data_never_a_pass()
    {
        await using var server = await LoopbackHttpServer.StartAsync(new AzureServer().HandleAsync);
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("appInsights", Block(server.Address)));
        var window = await Open(Block(server.Address))(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(VersionSample.Empty, window.Canary);
        ProviderSpecs.AssertInsufficientData(spec, window);
    }

    [Fact]
    public async Task Throttling_query_errors_and_a_refused_exchange_are_named_without_any_token()
    {
        var azure = new AzureServer();
        var mode = "429";
        azure.Answer = async (_, ctx) =>
        {
            if (mode == "429")
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = "30";
                await ctx.Response.WriteAsync("{\"error\":{\"code\":\"ThrottledError\",\"message\":\"Too many requests\"}}");
                return;
            }
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync("{\"error\":{\"message\":\"The request had some invalid properties\",\"code\":\"BadArgumentError\",\"innererror\":{\"code\":\"SyntaxError\",\"message\":\"A recognition error occurred in the query.\"}}}");
        };
        await using var server = await LoopbackHttpServer.StartAsync(azure.HandleAsync);
        var query = Open(Block(server.Address));
        var at = $"Application Insights at {server.Address}";
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}) answered HTTP 429 Too Many Requests (retry after 30s): ThrottledError: Too many requests", e.Message);
        mode = "400";
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{at} ({Field}) answered HTTP 400 Bad Request: SyntaxError: A recognition error occurred in the query.", e.Message);

        // A federated token the authority does not accept (here: another client id) names the entraId field, and neither token.
        var refused = Open(Block(server.Address).Replace(ClientId, "00000000-1d5e-4f7b-9c1a-0b2e3d4f5a6b"));
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => refused(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{Field}.entraId: the token endpoint {server.Address}{Tenant}/oauth2/v2.0/token answered HTTP 400 Bad Request: invalid_client", e.Message);
        Assert.DoesNotContain(FederatedToken, e.ToString());
    }

    [Fact]
    public async Task Without_tenant_or_client_in_the_spec_the_webhook_variables_are_read_and_their_absence_is_named()
    {
        var azure = new AzureServer();
        await using var server = await LoopbackHttpServer.StartAsync(azure.HandleAsync);
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("appInsights", $"appId: {AppId}\naddress: {server.Address}\nentraId: {{}}\n"));
        var env = new Dictionary<string, string>
        {
            ["AZURE_TENANT_ID"] = Tenant, ["AZURE_CLIENT_ID"] = ClientId, ["AZURE_FEDERATED_TOKEN_FILE"] = TokenFile, ["AZURE_AUTHORITY_HOST"] = server.Address.ToString(),
        };
        var query = new AppInsightsMetricProvider(new HttpClient(), new TlsHttpClients(), environment: v => env.GetValueOrDefault(v)).Open(spec, spec.Analysis!.Metrics[0]);
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(1, azure.Tokens);

        env.Remove("AZURE_CLIENT_ID");
        var missing = new AppInsightsMetricProvider(new HttpClient(), new TlsHttpClients(), environment: v => env.GetValueOrDefault(v)).Open(spec, spec.Analysis!.Metrics[0]);
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => missing(T, T.AddMinutes(1), CancellationToken.None));
        Assert.StartsWith($"{Field}.entraId.clientId: not given, and AZURE_CLIENT_ID is not set", e.Message);
    }

    [PrometheusFact]
    public async Task The_same_traffic_gives_the_same_verdicts_as_through_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        var azure = new AzureServer();
        // The query API answers each window's rows from the same counters Prometheus holds.
        azure.Answer = (body, ctx) =>
        {
            var span = body["timespan"]!.GetValue<string>().Split('/').Select(DateTimeOffset.Parse).ToArray();
            var rows = new[] { "shop-canary", "shop" }
                .Select(w => (w, at(w, span[1]).Requests - at(w, span[0]).Requests, at(w, span[1]).Failures - at(w, span[0]).Failures, Array.Empty<long>()))
                .ToArray();
            return ctx.Response.WriteAsync(Table(rows));
        };
        await using var server = await LoopbackHttpServer.StartAsync(azure.HandleAsync);
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("appInsights", Block(server.Address)));
        await ProviderSpecs.AssertSameVerdictsAsPrometheusAsync(prom, spec,
            new AppInsightsMetricProvider(new HttpClient(), new TlsHttpClients(), environment: _ => null).Open(spec, spec.Analysis!.Metrics[0]));
    }
}
