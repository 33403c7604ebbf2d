using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Aws;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Metrics.CloudWatch;
using Kubestead.Metrics.Connection;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Cluster;
using Microsoft.AspNetCore.Http;

namespace Kubestead.Core.Tests.Metrics.CloudWatch;

/// <summary>
/// The <c>cloudWatch</c> provider against a local server speaking GetMetricData in the query protocol (a signed form
/// POST; an XML answer with <c>MetricDataResults/member</c>, <c>Timestamps/member</c>, <c>Values/member</c>,
/// <c>StatusCode</c>, <c>NextToken</c>; errors as <c>ErrorResponse/Error/Code,Message</c>), checking every request's
/// SigV4 signature for the monitoring service. Every message is checked for the secret.
/// </summary>
public class CloudWatchMetricProviderTests
{
    private const string Field = "spec.analysis.metrics[0].provider.cloudWatch";
    private const string KeyId = "AKIAKUBESTEADCW0001";
    private const string Secret = "cw-secret-0b8e41d7a9f2";
    private const string CanaryGroup = "targetgroup/shop-canary/943f017f100becff";
    private const string ControlGroup = "targetgroup/shop/73e2d6bc24d8a067";
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_070); // 30 s past a minute, as a window rarely starts on one

    private const string Metrics =
        "namespace: AWS/ApplicationELB\nrequestsMetric: RequestCount\nfailuresMetric: HTTPCode_Target_5XX_Count\n" +
        "dimensions:\n  LoadBalancer: app/shop/50dc6c495c0c9188\n";

    private const string Versions = "versionDimension:\n  name: TargetGroup\n  canary: " + CanaryGroup + "\n  control: " + ControlGroup + "\n";

    private const string Keys = "accessKeyId: {secret: {name: aws, key: id}}\nsecretAccessKey: {secret: {name: aws, key: secret}}\n";

    internal static string Block(Uri server) => $"region: eu-west-1\naddress: {server}\n" + Metrics + Versions + Keys;

    internal static EmulatedCluster Cluster(string secret = Secret) => ProviderSpecs.ClusterWithSecret("aws", ("id", KeyId), ("secret", secret));

    private static MetricWindowQuery Open(Uri server, IKubernetesApi? api = null)
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("cloudWatch", Block(server)));
        return new CloudWatchMetricProvider(new HttpClient(), new TlsHttpClients(), api ?? Cluster(), environment: _ => null).Open(spec, spec.Analysis!.Metrics[0]);
    }

    /// <summary>One asked-for series: its id, metric name and dimensions, as the form gave them.</summary>
    internal sealed record Query(string Id, string Metric, Dictionary<string, string> Dimensions, int Period, string Stat);

    /// <summary>
    /// Answers GetMetricData as CloudWatch does when the request is signed with <see cref="Secret"/>: each query's points
    /// from <paramref name="points"/> (query, start, end), or the page's status and next token from <paramref name="page"/>.
    /// </summary>
    internal static Func<HttpContext, Task> CloudWatch(Func<Query, DateTimeOffset, DateTimeOffset, IEnumerable<(DateTimeOffset At, double Value)>> points,
        Func<string?, (string Status, string? NextToken)>? page = null) => async ctx =>
    {
        if (await SigV4Verifier.CheckAsync(ctx, KeyId, Secret, "eu-west-1", "monitoring") is { } why)
        {
            ctx.Response.StatusCode = 403;
            await ctx.Response.WriteAsync(Error("Sender", "SignatureDoesNotMatch", $"The request signature we calculated does not match the signature you provided ({why})."));
            return;
        }
        var form = await ctx.Request.ReadFormAsync();
        if (form["Action"] != "GetMetricData" || form["Version"] != "2010-08-01")
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync(Error("Sender", "InvalidAction", "unknown action"));
            return;
        }
        var (start, end) = (DateTimeOffset.Parse(form["StartTime"]!, CultureInfo.InvariantCulture), DateTimeOffset.Parse(form["EndTime"]!, CultureInfo.InvariantCulture));
        var (status, next) = page?.Invoke(form["NextToken"]) ?? ("Complete", null);
        var results = new StringBuilder();
        for (var n = 1; form.ContainsKey($"MetricDataQueries.member.{n}.Id"); n++)
        {
            var q = $"MetricDataQueries.member.{n}.";
            var dimensions = new Dictionary<string, string>();
            for (var d = 1; form.ContainsKey($"{q}MetricStat.Metric.Dimensions.member.{d}.Name"); d++)
                dimensions[form[$"{q}MetricStat.Metric.Dimensions.member.{d}.Name"]!] = form[$"{q}MetricStat.Metric.Dimensions.member.{d}.Value"]!;
            var query = new Query(form[q + "Id"]!, form[q + "MetricStat.Metric.MetricName"]!, dimensions, int.Parse(form[q + "MetricStat.Period"]!), form[q + "MetricStat.Stat"]!);
            var list = points(query, start, end).ToList();
            results.Append(CultureInfo.InvariantCulture, $"<member><Timestamps>{string.Concat(list.Select(p => $"<member>{p.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}</member>"))}</Timestamps>")
                .Append(CultureInfo.InvariantCulture, $"<StatusCode>{status}</StatusCode><Values>{string.Concat(list.Select(p => $"<member>{p.Value.ToString(CultureInfo.InvariantCulture)}</member>"))}</Values>")
                .Append(CultureInfo.InvariantCulture, $"<Id>{query.Id}</Id><Label>{query.Metric}</Label></member>");
        }
        ctx.Response.ContentType = "text/xml";
        await ctx.Response.WriteAsync("<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetMetricDataResult>" +
            $"<MetricDataResults>{results}</MetricDataResults>{(next is null ? "" : $"<NextToken>{next}</NextToken>")}<Messages/></GetMetricDataResult>" +
            "<ResponseMetadata><RequestId>1b0e5a8e-0000-4000-8000-000000000000</RequestId></ResponseMetadata></GetMetricDataResponse>");
    };

    /// <summary>The query protocol's error body.</summary>
    private static string Error(string type, string code, string message) =>
        $"<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>{type}</Type><Code>{code}</Code><Message>{SecurityElement.Escape(message)}</Message></Error>" +
        "<RequestId>2c1f6b9f-0000-4000-8000-000000000000</RequestId></ErrorResponse>";

    [Theory]
    [InlineData("region: eu-west-1\n" + Metrics + Keys, "versionDimension", "tells the canary from its control")]
    [InlineData("region: eu-west-1\n" + Metrics + Keys + "versionDimension: {name: TargetGroup, canary: tg/a, control: tg/a}\n", "versionDimension.control", "the same answer")]
    [InlineData("region: eu-west-1\n" + Metrics + Keys + "versionDimension: {name: LoadBalancer}\n", "versionDimension.name", "is also under dimensions")]
    [InlineData("region: eu-west-1\n" + Metrics + Versions + Keys + "stat: Average\n", "stat", "Sum")]
    [InlineData("region: eu-west-1\n" + Metrics + Versions + Keys + "period: 90s\n", "period", "multiple of 60s")]
    [InlineData("region: eu-west-1\n" + Metrics + Versions + "accessKeyId: AKIA1\nsecretAccessKey: " + Secret + "\n", "secretAccessKey", "must not be written in the spec")]
    [InlineData(Metrics + Versions + Keys, "region", "required")]
    public void A_block_that_cannot_count_per_version_is_refused_naming_the_field(string block, string field, string message)
    {
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(ProviderSpecs.Spec("cloudWatch", block)).Problems;
        var problem = Assert.Single(problems, p => p.Field == $"{Field}.{field}");
        Assert.Contains(message, problem.Message);
        Assert.All(problems, p => Assert.DoesNotContain(Secret, p.ToString()));
    }

    [Fact]
    public void The_region_selects_the_endpoint_and_the_signature_is_for_monitoring()
    {
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("cloudWatch", "region: eu-west-1\n" + Metrics + Versions + Keys));
        var cw = Assert.IsType<CloudWatchProviderSpec>(spec.Analysis!.Metrics[0].Provider);
        Assert.Equal(new Uri("https://monitoring.eu-west-1.amazonaws.com/"), cw.Address);
        Assert.Equal(("eu-west-1", "monitoring"), (cw.Connection.SigV4!.Region, cw.Connection.SigV4.Service));
        Assert.Equal(("Sum", TimeSpan.FromMinutes(1)), (cw.Stat, cw.Period));
        Assert.True(cw.ReadsSecrets);
        Assert.False(cw.ReturnsLatency);
    }

    [Fact]
    public async Task A_window_is_one_signed_request_summing_each_versions_periods_inside_it()
    {
        var queries = new List<Query>();
        await using var server = await LoopbackHttpServer.StartAsync(CloudWatch((q, start, _) =>
        {
            lock (queries) queries.Add(q);
            var canary = q.Dimensions["TargetGroup"] == CanaryGroup;
            var value = q.Metric == "RequestCount" ? (canary ? 60.0 : 2400.0) : (canary ? 3.0 : 2.0);
            // A period that began before the window (CloudWatch rounds the start down to the minute) is not counted.
            var first = DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() / 60 * 60);
            return [(first, 999), (first.AddMinutes(1), value), (first.AddMinutes(2), value)];
        }));
        var window = await Open(server.Address)(T, T.AddMinutes(2), CancellationToken.None);
        Assert.Equal(new VersionSample(120, 6), window.Canary);
        Assert.Equal(new VersionSample(4800, 4), window.Control);
        Assert.Single(server.Requests);
        Assert.Equal("POST", server.Requests[0].Method);
        Assert.Equal(["canary_requests", "canary_failures", "control_requests", "control_failures"], queries.Select(q => q.Id));
        Assert.All(queries, q => Assert.Equal(("app/shop/50dc6c495c0c9188", 60, "Sum"), (q.Dimensions["LoadBalancer"], q.Period, q.Stat)));
        Assert.Equal(["HTTPCode_Target_5XX_Count", ControlGroup], new[] { queries[3].Metric, queries[3].Dimensions["TargetGroup"] });
    }

    [Fact]
    public async Task No_datapoints_is_insufficient_data_never_a_pass()
    {
        await using var server = await LoopbackHttpServer.StartAsync(CloudWatch((_, _, _) => []));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("cloudWatch", Block(server.Address)));
        var window = await Open(server.Address)(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(VersionSample.Empty, window.Canary);
        Assert.Equal(VersionSample.Empty, window.Control);
        ProviderSpecs.AssertInsufficientData(spec, window);
    }

    [Fact]
    public async Task Partial_data_is_read_to_the_last_page()
    {
        await using var server = await LoopbackHttpServer.StartAsync(CloudWatch(
            (q, start, _) => q.Metric == "RequestCount" ? [(DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() / 60 * 60 + 60), 10.0)] : [],
            token => token is null ? ("PartialData", "page-2") : ("Complete", null)));
        var window = await Open(server.Address)(T, T.AddMinutes(2), CancellationToken.None);
        Assert.Equal(2, server.Requests.Count);
        Assert.Contains("NextToken=page-2", server.Requests[1].Body);
        Assert.Equal(new VersionSample(20, 0), window.Canary);
    }

    [Fact]
    public async Task Throttling_errors_and_refused_signatures_are_named_without_the_secret()
    {
        var mode = "throttling";
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            switch (mode)
            {
                case "throttling":
                    ctx.Response.StatusCode = 400;
                    await ctx.Response.WriteAsync(Error("Sender", "Throttling", "Rate exceeded"));
                    break;
                case "429":
                    ctx.Response.StatusCode = 429;
                    ctx.Response.Headers.RetryAfter = "4";
                    await ctx.Response.WriteAsync(Error("Sender", "ThrottlingException", "Rate exceeded"));
                    break;
                case "invalid":
                    ctx.Response.StatusCode = 400;
                    await ctx.Response.WriteAsync(Error("Sender", "InvalidParameterValue", "The value 90 for parameter MetricDataQueries.member.1.MetricStat.Period is not a multiple of 60."));
                    break;
                case "forbidden":
                    await CloudWatch((_, _, _) => [], _ => ("Forbidden", null))(ctx);
                    break;
                case "html":
                    ctx.Response.StatusCode = 502;
                    await ctx.Response.WriteAsync("<html><head><title>502 Bad Gateway</title></head></html>");
                    break;
                default:
                    await CloudWatch((_, _, _) => [])(ctx);
                    break;
            }
        });
        var at = $"CloudWatch at {server.Address}";
        var query = Open(server.Address);
        async Task<string> Fails() => (await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(T, T.AddMinutes(1), CancellationToken.None))).Message;
        Assert.Equal($"{at} ({Field}) answered HTTP 400 Bad Request (throttled): Throttling: Rate exceeded", await Fails());
        mode = "429";
        Assert.Equal($"{at} ({Field}) answered HTTP 429 Too Many Requests (retry after 4s) (throttled): ThrottlingException: Rate exceeded", await Fails());
        mode = "invalid";
        Assert.StartsWith($"{at} ({Field}) answered HTTP 400 Bad Request: InvalidParameterValue: The value 90", await Fails());
        mode = "forbidden";
        Assert.Equal($"{at} ({Field}.requestsMetric) answered StatusCode Forbidden for 'canary_requests'", await Fails());
        mode = "html";
        Assert.Equal($"{at} ({Field}) answered HTTP 502 Bad Gateway: 502 Bad Gateway", await Fails());

        mode = "auth";
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => Open(server.Address, Cluster("rotated-" + Secret))(T, T.AddMinutes(1), CancellationToken.None));
        Assert.StartsWith($"{at} ({Field}) answered HTTP 403 Forbidden: the credentials were refused: The request signature we calculated does not match", e.Message);
        Assert.DoesNotContain(Secret, e.ToString());
    }

    [Fact]
    public async Task Validate_with_the_cluster_checks_the_connection_before_any_write()
    {
        await using var server = await LoopbackHttpServer.StartAsync(CloudWatch((q, start, end) =>
            q.Metric == "RequestCount" && q.Dimensions["TargetGroup"] == ControlGroup
                ? Enumerable.Range(0, 5).Select(i => (DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds() / 60 * 60 + 60 * (i + 1)), 7.0)).Where(p => p.Item1 < end)
                : []));
        foreach (var (secret, outcome) in new[] { (Secret, CheckOutcome.Passed), ("wrong-" + Secret, CheckOutcome.Failed) })
        {
            var api = Cluster(secret);
            var writes = api.Writes.Count;
            await using var svc = new KubesteadService(api);
            var report = await svc.TestAsync(new StartRequest { SpecYaml = ProviderSpecs.Spec("cloudWatch", Block(server.Address)) }, checkCluster: true);
            var check = Assert.Single(report.Checks, c => c.Check == "metrics");
            Assert.True(outcome == check.Outcome, check.Message);
            Assert.Contains(outcome == CheckOutcome.Passed ? "the control version served" : $"({Field}) answered HTTP 403", check.Message);
            Assert.All(report.Checks, c => Assert.DoesNotContain(secret, c.Message));
            Assert.Equal(writes, api.Writes.Count);
        }
    }

    [PrometheusFact]
    public async Task The_same_traffic_gives_the_same_verdicts_as_through_Prometheus()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        // A load balancer publishes per-minute sums per target group from the same traffic Prometheus counts.
        await using var server = await LoopbackHttpServer.StartAsync(CloudWatch((q, start, end) =>
        {
            var w = q.Dimensions["TargetGroup"] == CanaryGroup ? "shop-canary" : "shop";
            var failures = q.Metric == "HTTPCode_Target_5XX_Count";
            var first = start.ToUnixTimeSeconds() / 60 * 60;
            return Enumerable.Range(0, (int)((end.ToUnixTimeSeconds() - first) / 60)).Select(i =>
            {
                var (a, b) = (at(w, DateTimeOffset.FromUnixTimeSeconds(first + 60 * i)), at(w, DateTimeOffset.FromUnixTimeSeconds(first + 60 * (i + 1))));
                return (DateTimeOffset.FromUnixTimeSeconds(first + 60 * i), (double)(failures ? b.Failures - a.Failures : b.Requests - a.Requests));
            });
        }));
        var spec = ProviderSpecs.Parse(ProviderSpecs.Spec("cloudWatch", Block(server.Address)));
        await ProviderSpecs.AssertSameVerdictsAsPrometheusAsync(prom, spec,
            new CloudWatchMetricProvider(new HttpClient(), new TlsHttpClients(), Cluster(), environment: _ => null).Open(spec, spec.Analysis!.Metrics[0]));
    }
}
