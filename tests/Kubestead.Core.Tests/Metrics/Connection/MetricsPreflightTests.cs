using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Cluster;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// <c>validate --cluster</c> / <c>Test-KubesteadRollout -Cluster</c> (both call <see cref="KubesteadService.TestAsync"/>)
/// ask each metric's source before anything is written: refused credentials fail the check naming field and status.
/// </summary>
public class MetricsPreflightTests
{
    private const string Password = "preflight-pw-41d8c2";

    /// <summary>Counters that grow with the query's time when the password is right; 401 otherwise; an empty vector when <paramref name="empty"/>.</summary>
    private static Func<HttpContext, Task> Server(bool empty = false) => async ctx =>
    {
        if (ctx.Request.Headers.Authorization != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"kubestead:{Password}")))
        {
            ctx.Response.StatusCode = 401;
            return;
        }
        var time = double.Parse(ctx.Request.Query["time"]!, CultureInfo.InvariantCulture);
        await ctx.Response.WriteAsync(empty ? LoopbackHttpServer.Vector() : LoopbackHttpServer.Vector(("shop-abc12-x1y2z", Math.Floor(time / 10))));
    };

    private static async Task<(SpecTestReport Report, EmulatedCluster Api)> ValidateAsync(Uri address, string password)
    {
        var api = new EmulatedCluster();
        api.Seed(ResourceType.Secret, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "prom-auth", ["namespace"] = "web" },
            ["data"] = new JsonObject { ["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(password)) },
        });
        var writes = api.Writes.Count;
        await using var svc = new KubesteadService(api);
        var yaml = PrometheusConnectionSpecTests.Spec("basicAuth:\n  username: kubestead\n  password: {secret: {name: prom-auth, key: password}}\n",
            address.ToString().TrimEnd('/'));
        var report = await svc.TestAsync(new StartRequest { SpecYaml = yaml }, checkCluster: true);
        Assert.Equal(writes, api.Writes.Count);
        return (report, api);
    }

    [Fact]
    public async Task Refused_credentials_fail_validation_naming_the_field_and_status_and_write_nothing()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Server());
        var (report, _) = await ValidateAsync(server.Address, "wrong-" + Password);
        var check = Assert.Single(report.Checks, c => c.Check == "metrics");
        Assert.Equal(CheckOutcome.Failed, check.Outcome);
        Assert.False(report.IsValid);
        Assert.Contains("metric 'error-rate': Prometheus at", check.Message);
        Assert.Contains("(spec.analysis.metrics[0].provider.prometheus.basicAuth) answered HTTP 401", check.Message);
        Assert.All(report.Checks, c => Assert.DoesNotContain(Password, c.Message));
    }

    [Fact]
    public async Task Working_credentials_pass_with_the_stable_traffic_counted()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Server());
        var (report, _) = await ValidateAsync(server.Address, Password);
        var check = Assert.Single(report.Checks, c => c.Check == "metrics");
        Assert.Equal(CheckOutcome.Passed, check.Outcome);
        Assert.Contains("the control version served 30 requests in the last 5 minutes", check.Message);
    }

    [Fact]
    public async Task A_query_matching_no_series_is_a_warning_that_says_so()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Server(empty: true));
        var (report, _) = await ValidateAsync(server.Address, Password);
        var check = Assert.Single(report.Checks, c => c.Check == "metrics");
        Assert.Equal(CheckOutcome.Warning, check.Outcome);
        Assert.Contains("the query matches no series", check.Message);
    }
}
