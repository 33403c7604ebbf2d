using System.Net;
using System.Net.Sockets;
using System.Text;
using Kubestead.Analysis;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Cli.Tests;

/// <summary>The controller's /metrics, /healthz and /readyz over 127.0.0.1, fed with events as a replica would feed them.</summary>
public sealed class ControllerEndpointTests
{
    private static readonly IPEndPoint AnyPort = new(IPAddress.Loopback, 0);

    private static Verdict Judged(string metric, VerdictOutcome outcome) => new("sequential", metric, outcome, 1000, 1, 1000, 1, null, null, null, null, "judged");

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(ControllerEndpoint endpoint, string path)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://{endpoint.Bound}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_exposes_decisions_api_requests_and_reconcile_latency_in_prometheus_text()
    {
        var metrics = new ControllerMetrics();
        var at = DateTimeOffset.UtcNow;
        metrics.OnEvent(new VerdictEvent(at, "web", "shop", Judged("error-rate", VerdictOutcome.Pass)));
        metrics.OnEvent(new VerdictEvent(at, "web", "shop", Judged("error-rate", VerdictOutcome.Pass)));
        metrics.OnEvent(new BackgroundVerdictEvent(at, "web", "shop", Judged("latency", VerdictOutcome.Fail)));
        metrics.OnApiRequest(new ApiRequestSample("update", "leases.coordination.k8s.io", 200));
        metrics.OnApiRequest(new ApiRequestSample("update", "leases.coordination.k8s.io", 409));
        metrics.OnApiRequest(new ApiRequestSample("watch", "configmaps", null));
        metrics.OnEvent(new ControllerEvent(at, ControllerEventKind.Reconciled, new RolloutKey("web", "shop"), "looked")
            { Elapsed = TimeSpan.FromSeconds(90), Outcome = ReconcileOutcome.Driven });
        await using var endpoint = ControllerEndpoint.Start(AnyPort, metrics.Registry, () => new ControllerReadiness(true, "ok"));

        var (status, body) = await GetAsync(endpoint, "/metrics");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("kubestead_controller_decisions_total{verdict=\"Pass\"} 2", body);
        Assert.Contains("kubestead_controller_decisions_total{verdict=\"Fail\"} 1", body);
        Assert.Contains("kubestead_controller_decisions_total{verdict=\"InsufficientData\"} 0", body);
        Assert.Contains("kubestead_controller_api_requests_total{verb=\"update\",resource=\"leases.coordination.k8s.io\",code=\"200\"} 1", body);
        Assert.Contains("kubestead_controller_api_errors_total{verb=\"update\",resource=\"leases.coordination.k8s.io\",code=\"409\"} 1", body);
        Assert.Contains("kubestead_controller_api_errors_total{verb=\"watch\",resource=\"configmaps\",code=\"none\"} 1", body);
        Assert.DoesNotContain("api_errors_total{verb=\"update\",resource=\"leases.coordination.k8s.io\",code=\"200\"}", body);
        Assert.Contains("kubestead_controller_reconcile_duration_seconds_count{outcome=\"Driven\"} 1", body);
        Assert.Contains("kubestead_controller_reconcile_duration_seconds_sum{outcome=\"Driven\"} 90", body);
        // Every phase is there before any rollout is seen, so a dashboard's query finds 0 rather than no series.
        Assert.Contains("kubestead_controller_rollouts{phase=\"Progressing\"} 0", body);
        Assert.Contains("process_working_set_bytes", body);
    }

    [Fact]
    public async Task Metrics_exports_the_Kubernetes_Events_the_replica_could_not_write()
    {
        var metrics = new ControllerMetrics();
        var counts = new Kubestead.Events.EventDeliveryCounts(3, 1);
        metrics.AttachEvents(() => counts);
        await using var endpoint = ControllerEndpoint.Start(AnyPort, metrics.Registry, () => new ControllerReadiness(true, "ok"));

        var (_, body) = await GetAsync(endpoint, "/metrics");
        Assert.Contains("kubestead_controller_kubernetes_events_unwritten_total 3", body);
        Assert.Contains("kubestead_controller_kubernetes_events_dropped_total 1", body);

        // Read again at the next scrape: the counters follow the recorder's counts.
        counts = new Kubestead.Events.EventDeliveryCounts(7, 1);
        (_, body) = await GetAsync(endpoint, "/metrics");
        Assert.Contains("kubestead_controller_kubernetes_events_unwritten_total 7", body);
    }

    [Fact]
    public async Task Readyz_follows_the_controllers_readiness_and_healthz_answers_while_it_is_not_ready()
    {
        var readiness = new ControllerReadiness(false, "initial list not done yet");
        await using var endpoint = ControllerEndpoint.Start(AnyPort, new ControllerMetrics().Registry, () => readiness);

        var notReady = await GetAsync(endpoint, "/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.Status);
        Assert.Contains("initial list not done yet", notReady.Body);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(endpoint, "/healthz")).Status);

        readiness = new ControllerReadiness(true, "watching 3 rollout(s)");
        var ready = await GetAsync(endpoint, "/readyz?verbose");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Contains("watching 3 rollout(s)", ready.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(endpoint, "/")).Status);
    }

    [Fact]
    public async Task A_client_that_says_nothing_does_not_stop_the_others_being_answered()
    {
        await using var endpoint = ControllerEndpoint.Start(AnyPort, new ControllerMetrics().Registry, () => new ControllerReadiness(true, "ok"));
        using var silent = new TcpClient();
        await silent.ConnectAsync(endpoint.Bound);
        await silent.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /metr"));

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(endpoint, "/healthz")).Status);
    }

    [Fact]
    public void A_taken_port_is_refused_naming_the_option()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var e = Assert.Throws<KubesteadException>(() => ControllerEndpoint.Start((IPEndPoint)taken.LocalEndpoint, new ControllerMetrics().Registry, () => new ControllerReadiness(true, "")));
        Assert.Contains("--listen-address", e.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1:8080")]
    [InlineData("0.0.0.0:9090", "0.0.0.0:9090")]
    [InlineData("localhost:0", "127.0.0.1:0")]
    [InlineData("[::]:8080", "[::]:8080")]
    public void Parses_host_and_port(string text, string expected) => Assert.Equal(expected, ControllerEndpoint.ParseAddress(text).ToString());

    [Theory]
    [InlineData("8080")]
    [InlineData("127.0.0.1")]
    [InlineData("example.com:8080")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("::1:8080")]
    public void Refuses_what_is_not_host_and_port_naming_the_option(string text)
    {
        var e = Assert.Throws<KubesteadException>(() => ControllerEndpoint.ParseAddress(text));
        Assert.Contains("--listen-address", e.Message);
        Assert.Contains(text, e.Message);
    }
}
