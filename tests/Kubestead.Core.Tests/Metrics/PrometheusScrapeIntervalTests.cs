using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Start;
using Kubestead.Specs;
using Kubestead.Tests.Shared;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>
/// Issue #29 item 4: without <c>analysis.scrapeInterval</c>, the interval follows the scrape interval Prometheus
/// reports at <c>/api/v1/targets</c> (a fake on 127.0.0.1 answering in the documented shape), and an unreadable answer
/// leaves today's default.
/// </summary>
public sealed class PrometheusScrapeIntervalTests : IDisposable
{
    private readonly LoopbackReceiver _prometheus = new("/");
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _prometheus.Dispose();
        _http.Dispose();
    }

    private static JsonObject Target(string ns, string? pod, string interval, string job = "kubernetes-pods")
    {
        var labels = new JsonObject { ["job"] = job, ["namespace"] = ns, ["instance"] = "10.0.0.1:15090" };
        if (pod is not null) labels["pod"] = pod;
        return new JsonObject
        {
            ["discoveredLabels"] = new JsonObject { ["__address__"] = "10.0.0.1:15090", ["job"] = job },
            ["labels"] = labels,
            ["scrapePool"] = job, ["scrapeUrl"] = "http://10.0.0.1:15090/stats/prometheus", ["globalUrl"] = "http://10.0.0.1:15090/stats/prometheus",
            ["lastError"] = "", ["lastScrape"] = "2026-12-06T06:00:00Z", ["lastScrapeDuration"] = 0.01, ["health"] = "up",
            ["scrapeInterval"] = interval, ["scrapeTimeout"] = "10s",
        };
    }

    /// <summary>Answers /api/v1/targets with <paramref name="targets"/> and every query with an empty vector.</summary>
    private void Serve(params JsonObject[] targets) => _prometheus.Answer = r => r.Path.EndsWith("/targets", StringComparison.Ordinal)
        ? (200, "application/json", new JsonObject
        {
            ["status"] = "success",
            ["data"] = new JsonObject { ["activeTargets"] = new JsonArray(targets.Select(t => (JsonNode)t.DeepClone()).ToArray()), ["droppedTargets"] = new JsonArray() },
        }.ToJsonString())
        : (200, "application/json", """{"status":"success","data":{"resultType":"vector","result":[]}}""");

    private void ServeStatus(int status, string body) => _prometheus.Answer = r => r.Path.EndsWith("/targets", StringComparison.Ordinal)
        ? (status, "text/plain", body)
        : (200, "application/json", """{"status":"success","data":{"resultType":"vector","result":[]}}""");

    private IScrapeIntervalSource Source()
    {
        var spec = Spec("");
        var client = new PrometheusClient(_http, new Uri(_prometheus.Url, "/"));
        return new PrometheusMetricSource(client, (PrometheusProviderSpec)spec.Analysis!.Metrics[0].Provider, "web", "shop-canary", "shop");
    }

    /// <summary>The istio example (namespace web, Deployments shop and shop-canary) reading the fake, with <paramref name="analysisFields"/> in place of its interval.</summary>
    private RolloutSpec Spec(string analysisFields) =>
        ProviderSpecs.Parse(ProviderSpecs.Spec("prometheus", $"address: {new Uri(_prometheus.Url, "/")}\nbuiltin: istio")
            .Replace("    interval: 1m\n", analysisFields));

    private MetricQueryFactory Metrics()
    {
        var set = new MetricProviderSet([new PrometheusMetricProvider(_http)]);
        return set.Open;
    }

    [Fact]
    public async Task Mixed_intervals_give_the_largest_among_the_workloads_pods()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "15s"), Target("web", "shop-canary-5f6d7c8b9-fghij", "30s"),
            Target("web", "cart-6c7d8e9f0-klmno", "2m"), Target("other", "shop-7d9f8c6b5-zzzzz", "5m"), Target("web", "shop-7d9f8c6b5-pqrst", "1m30s", job: "unused") );
        var reading = await Source().ReadScrapeIntervalAsync(CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(90), reading.Interval);
        Assert.Contains("pods of shop or shop-canary", reading.Note);
    }

    [Fact]
    public async Task Without_a_target_of_the_workloads_the_largest_of_the_namespace_is_taken_and_said()
    {
        // shop-canary-... must not count as a pod of "shop" (nor cart's as either).
        Serve(Target("web", "cart-6c7d8e9f0-klmno", "15s"), Target("web", null, "45s"), Target("other", "shop-7d9f8c6b5-abcde", "5m"));
        var reading = await Source().ReadScrapeIntervalAsync(CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(45), reading.Interval);
        Assert.Contains("no active target is a pod of shop or shop-canary", reading.Note);
        Assert.Contains("namespace web", reading.Note);
    }

    [Fact]
    public async Task An_empty_target_list_reads_no_interval()
    {
        Serve();
        var reading = await Source().ReadScrapeIntervalAsync(CancellationToken.None);
        Assert.Null(reading.Interval);
        Assert.Contains("no active target in namespace web", reading.Note);
    }

    [Theory]
    [InlineData(404, "404 page not found")]                                          // a store without the endpoint (VictoriaMetrics, Mimir's query path)
    [InlineData(403, """{"status":"error","errorType":"forbidden","error":"no"}""")] // a proxy that allows queries only
    [InlineData(200, "<html>not json</html>")]
    public async Task An_unreadable_answer_reads_no_interval_and_says_why(int status, string body)
    {
        ServeStatus(status, body);
        var reading = await Source().ReadScrapeIntervalAsync(CancellationToken.None);
        Assert.Null(reading.Interval);
        Assert.Contains("could not be read from /api/v1/targets", reading.Note);
    }

    [Fact]
    public async Task Without_an_interval_in_the_spec_the_drive_runs_at_the_scrape_interval()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "15s"), Target("web", "shop-canary-5f6d7c8b9-fghij", "15s"));
        var spec = Spec("");
        Assert.Equal(TimeSpan.FromMinutes(1), spec.Analysis!.Interval); // the parser's default, before anything is read
        var resolved = await ScrapeIntervalDefault.ApplyAsync(spec, Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(15), resolved.Spec.Analysis!.Interval);
        Assert.Equal(TimeSpan.FromSeconds(15), resolved.Spec.Analysis.ScrapeInterval);
        Assert.Null(resolved.TooShort);
    }

    [Fact]
    public async Task A_scrape_interval_below_the_minimum_gives_the_minimum_interval()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "1s"));
        var resolved = await ScrapeIntervalDefault.ApplyAsync(Spec(""), Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(5), resolved.Spec.Analysis!.Interval);
    }

    [Fact]
    public async Task A_given_interval_below_the_scrape_interval_is_widened_and_said()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "30s"));
        var resolved = await ScrapeIntervalDefault.ApplyAsync(Spec("    interval: 10s\n"), Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(30), resolved.Spec.Analysis!.Interval);
        Assert.Contains("shorter than the scrape interval Prometheus reports (30s)", resolved.TooShort);
    }

    [Fact]
    public async Task A_given_interval_at_or_above_the_scrape_interval_is_kept()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "30s"));
        var resolved = await ScrapeIntervalDefault.ApplyAsync(Spec("    interval: 2m\n"), Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromMinutes(2), resolved.Spec.Analysis!.Interval);
        Assert.Null(resolved.TooShort);
    }

    [Fact]
    public async Task A_failed_read_keeps_the_default_with_a_note()
    {
        ServeStatus(404, "404 page not found");
        var resolved = await ScrapeIntervalDefault.ApplyAsync(Spec(""), Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromMinutes(1), resolved.Spec.Analysis!.Interval);
        Assert.Contains(resolved.Notes, n => n.Contains("HTTP 404", StringComparison.Ordinal));
        Assert.Contains(resolved.Notes, n => n.Contains("stays 1m", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_spec_that_gives_its_scrape_interval_is_not_read_from_prometheus()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "1m"));
        var resolved = await ScrapeIntervalDefault.ApplyAsync(Spec("    scrapeInterval: 15s\n"), Metrics(), CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(15), resolved.Spec.Analysis!.Interval);
        Assert.Empty(_prometheus.Requests);
    }

    [Fact]
    public async Task Validation_refuses_a_given_interval_below_the_scrape_interval_naming_the_field()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "30s"));
        var checks = await MetricsPreflight.RunAsync(Spec("    interval: 10s\n"), Metrics(), DateTimeOffset.UtcNow, CancellationToken.None);
        var refused = Assert.Single(checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.Equal("spec.analysis.interval", refused.Target);
        Assert.Contains("10s is shorter than the scrape interval Prometheus reports (30s)", refused.Message);
    }

    [Fact]
    public async Task Validation_says_which_interval_a_spec_without_one_gets()
    {
        Serve(Target("web", "shop-7d9f8c6b5-abcde", "15s"));
        var checks = await MetricsPreflight.RunAsync(Spec(""), Metrics(), DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.DoesNotContain(checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.Contains(checks, c => c.Target == "spec.analysis.interval" && c.Message.Contains("the analysis interval is 15s", StringComparison.Ordinal));
    }
}
