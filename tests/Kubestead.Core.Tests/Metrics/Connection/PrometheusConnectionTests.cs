using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// A prometheus provider's connection at run time, against a local server that checks what arrives: credentials read
/// at each request from Secrets and files, OAuth2 tokens, headers, and failures that name the field and HTTP status.
/// Every message a test sees is checked for the secret values.
/// </summary>
public class PrometheusConnectionTests
{
    private const string Field = "spec.analysis.metrics[0].provider.prometheus";
    private const string Password1 = "pw-one-5f1c2a";
    private const string Password2 = "pw-two-9d7e41";
    private const string ClientSecret = "client-secret-77ab03";

    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static JsonObject Secret(string name, string key, string value) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "web" },
        ["data"] = new JsonObject { [key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) },
    };

    private static MetricWindowQuery Open(IKubernetesApi? api, Uri address, string extra, TimeProvider? clock = null)
    {
        var result = RolloutSpecParser.Parse(PrometheusConnectionSpecTests.Spec(extra, address.ToString().TrimEnd('/')));
        Assert.True(result.IsValid, string.Join("; ", result.Problems.Select(p => $"{p.Field}: {p.Message}")));
        var spec = result.Spec!;
        return new PrometheusMetricProvider(new HttpClient(), api, clock).Open(spec, spec.Analysis!.Metrics[0]);
    }

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>Answers a vector when the Authorization header is one of <paramref name="accepted"/>, else 401.</summary>
    private static Func<HttpContext, Task> Guarded(Func<string[]> accepted) => async ctx =>
    {
        if (!accepted().Contains(ctx.Request.Headers.Authorization.ToString()))
        {
            ctx.Response.StatusCode = 401;
            // A server that echoes what it was sent: the error must not carry it on.
            await ctx.Response.WriteAsync($"<html><head><title>401 Unauthorized {ctx.Request.Headers.Authorization}</title></head></html>");
            return;
        }
        await ctx.Response.WriteAsync(LoopbackHttpServer.Vector(("shop-1", 100)));
    };

    [Fact]
    public async Task Basic_auth_is_read_from_the_secret_at_each_request_and_headers_are_sent()
    {
        var accepted = Basic("kubestead", Password1);
        await using var server = await LoopbackHttpServer.StartAsync(Guarded(() => [accepted]));
        var api = new EmulatedCluster();
        api.Seed(ResourceType.Secret, Secret("prom-auth", "password", Password1));
        var query = Open(api, server.Address,
            "basicAuth:\n  username: kubestead\n  password: {secret: {name: prom-auth, key: password}}\nheaders:\n  X-Scope-OrgID: tenant-a\n");
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.All(server.Requests, r => Assert.Equal("tenant-a", r.Headers["X-Scope-OrgID"]));

        // The password rotates: the next request uses the new one without a restart.
        var secret = await api.GetAsync(ResourceType.Secret, "web", "prom-auth");
        secret["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Password2));
        await api.ReplaceAsync(ResourceType.Secret, "web", "prom-auth", secret);
        accepted = Basic("kubestead", Password2);
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(Basic("kubestead", Password2), server.Requests[^1].Headers["Authorization"]);
    }

    [Fact]
    public async Task A_refused_password_names_the_provider_the_field_and_the_status_and_not_the_password()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Guarded(() => [Basic("kubestead", "the-right-one")]));
        var dir = Directory.CreateTempSubdirectory("kubestead-cred-").FullName;
        File.WriteAllText(Path.Combine(dir, "password"), Password1 + "\n");
        var query = Open(null, server.Address, $"basicAuth:\n  username: kubestead\n  password: {{file: {dir}/password}}\n");
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.StartsWith($"Prometheus at {server.Address}", e.Message);
        Assert.Contains($"({Field}.basicAuth) answered HTTP 401", e.Message);
        Assert.DoesNotContain(Password1, e.ToString());
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"kubestead:{Password1}")), e.ToString());
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task A_missing_secret_or_key_names_the_field_and_the_secret()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Guarded(() => []));
        var api = new EmulatedCluster();
        api.Seed(ResourceType.Secret, Secret("prom-auth", "pass", Password1));
        var missing = Open(api, server.Address, "bearerToken: {secret: {name: nope, key: token}}\n");
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => missing(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{Field}.bearerToken: Secret nope in namespace web does not exist", e.Message);
        var wrongKey = Open(api, server.Address, "bearerToken: {secret: {name: prom-auth, key: token}}\n");
        e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => wrongKey(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{Field}.bearerToken: Secret prom-auth in namespace web has no key 'token' (it has: pass)", e.Message);
        Assert.DoesNotContain(Password1, e.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task No_credentials_where_the_server_asks_for_them_names_the_address()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Guarded(() => ["x"]));
        var query = Open(null, server.Address, "");
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Contains($"({Field}.address) answered HTTP 401 Unauthorized: it asks for credentials", e.Message);
    }

    [Fact]
    public async Task OAuth2_client_credentials_fetch_one_token_and_send_it_as_bearer()
    {
        var tokens = 0;
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            if (ctx.Request.Path == "/token")
            {
                var form = await ctx.Request.ReadFormAsync();
                if (ctx.Request.Headers.Authorization != Basic("kubestead", ClientSecret) || form["grant_type"] != "client_credentials" || form["scope"] != "metrics.read")
                {
                    ctx.Response.StatusCode = 401;
                    await ctx.Response.WriteAsJsonAsync(new { error = "invalid_client", error_description = $"bad {ctx.Request.Headers.Authorization}" });
                    return;
                }
                tokens++;
                await ctx.Response.WriteAsJsonAsync(new { access_token = $"token-{tokens}-e81f", token_type = "Bearer", expires_in = 3600 });
                return;
            }
            await Guarded(() => ["Bearer token-1-e81f"])(ctx);
        });
        var dir = Directory.CreateTempSubdirectory("kubestead-cred-").FullName;
        File.WriteAllText(Path.Combine(dir, "secret"), ClientSecret);
        var oauth = $"oauth2:\n  tokenUrl: {server.Address}token\n  clientId: kubestead\n  scopes: [metrics.read]\n";
        var query = Open(null, server.Address, oauth + $"  clientSecret: {{file: {dir}/secret}}\n");
        await query(T, T.AddMinutes(1), CancellationToken.None);
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(1, tokens);
        Assert.All(server.Requests.Where(r => r.Path == "/api/v1/query"), r => Assert.Equal("Bearer token-1-e81f", r.Headers["Authorization"]));
        Assert.Single(server.Requests, r => r.Path == "/token");

        File.WriteAllText(Path.Combine(dir, "secret"), "wrong-" + ClientSecret);
        var refused = Open(null, server.Address, oauth + $"  clientSecret: {{file: {dir}/secret}}\n");
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => refused(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Equal($"{Field}.oauth2.tokenUrl: the token endpoint {server.Address}token answered HTTP 401 Unauthorized: invalid_client", e.Message);
        Assert.DoesNotContain(ClientSecret, e.ToString());
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Throttling_says_the_status_and_how_long_the_server_asks_to_wait()
    {
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = 429;
            ctx.Response.Headers.RetryAfter = "7";
            await ctx.Response.WriteAsync("{\"status\":\"error\",\"errorType\":\"too_many_requests\",\"error\":\"tenant limit\"}");
        });
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Open(null, server.Address, "")(T, T.AddMinutes(1), CancellationToken.None));
        Assert.Contains("answered HTTP 429 Too Many Requests (retry after 7s): too_many_requests: tenant limit", e.Message);
    }

    [Fact]
    public async Task Entra_id_workload_identity_trades_the_federated_token_for_a_managed_prometheus_token()
    {
        const string tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        const string client = "6a3f4c02-1d5e-4f7b-9c1a-0b2e3d4f5a6b";
        const string federated = "eyJsa.federated-token.51e0";
        var forms = new List<Dictionary<string, string>>();
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            if (ctx.Request.Path == $"/{tenant}/oauth2/v2.0/token")
            {
                var form = await ctx.Request.ReadFormAsync();
                forms.Add(form.ToDictionary(f => f.Key, f => f.Value.ToString()));
                await ctx.Response.WriteAsJsonAsync(new { token_type = "Bearer", expires_in = 3599, access_token = "amp-token-0c4d" });
                return;
            }
            await Guarded(() => ["Bearer amp-token-0c4d"])(ctx);
        });
        var dir = Directory.CreateTempSubdirectory("kubestead-cred-").FullName;
        File.WriteAllText(Path.Combine(dir, "token"), federated);
        var query = Open(null, server.Address,
            $"entraId:\n  tenantId: {tenant}\n  clientId: {client}\n  tokenFile: {dir}/token\n  authorityHost: {server.Address}\n");
        await query(T, T.AddMinutes(1), CancellationToken.None);
        var form = Assert.Single(forms);
        Assert.Equal("https://prometheus.monitor.azure.com/.default", form["scope"]);
        Assert.Equal(federated, form["client_assertion"]);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        Assert.Equal(client, form["client_id"]);
        Assert.All(server.Requests.Where(r => r.Path == "/api/v1/query"), r => Assert.Equal("Bearer amp-token-0c4d", r.Headers["Authorization"]));
        Directory.Delete(dir, true);
    }
}
