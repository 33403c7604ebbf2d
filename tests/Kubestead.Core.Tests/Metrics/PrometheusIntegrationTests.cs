using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>Skips with a message when prometheus or promtool is not on PATH.</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (PrometheusServer.Find("prometheus") is null || PrometheusServer.Find("promtool") is null)
            Skip = "prometheus and promtool are not on PATH (apt-get install prometheus; tests/install-prereqs.sh does it)";
    }
}

/// <summary>A real Prometheus on 127.0.0.1 serving data backfilled with promtool; stopped on dispose.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private PrometheusServer(Process process, string dir, Uri address)
    {
        _process = process;
        _dir = dir;
        Address = address;
    }

    public Uri Address { get; }

    public static string? Find(string tool) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    public static async Task<PrometheusServer> StartAsync(string openMetrics)
    {
        var dir = Directory.CreateTempSubdirectory("kubestead-prom-").FullName;
        var data = Path.Combine(dir, "data");
        File.WriteAllText(Path.Combine(dir, "input.om"), openMetrics);
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), "global:\n  scrape_interval: 1h\nscrape_configs: []\n");
        await RunAsync(Find("promtool")!, "tsdb", "create-blocks-from", "openmetrics", Path.Combine(dir, "input.om"), data);
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
        var psi = new ProcessStartInfo(Find("prometheus")!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { $"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={data}", $"--web.listen-address=127.0.0.1:{port}",
                     "--storage.tsdb.retention.time=3650d", "--query.lookback-delta=5m" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var address = new Uri($"http://127.0.0.1:{port}/");
        using var http = new HttpClient();
        for (var i = 0; i < 300; i++)
        {
            try
            {
                if ((await http.GetAsync(new Uri(address, "-/ready"))).IsSuccessStatusCode) return new PrometheusServer(process, dir, address);
            }
            catch (HttpRequestException)
            {
            }
            if (process.HasExited) break;
            await Task.Delay(100);
        }
        process.Kill(true);
        throw new InvalidOperationException("prometheus did not become ready on 127.0.0.1:" + port);
    }

    private static async Task RunAsync(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed: {await err}");
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(true); await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

public class PrometheusIntegrationTests
{
    // Two hours ago, on a whole minute, so the data sits in a persisted block.
    internal static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeSeconds() / 60 * 60);

    /// <summary>Counters every 15 s for 30 minutes: stable 40 req/s with 1 failure per 1000, canary 2 req/s with 3 failures a minute.</summary>
    internal static (string Text, Func<string, DateTimeOffset, (long Requests, long Failures)> At) Generate(bool linkerd)
    {
        var sb = new StringBuilder();
        (long, long) Totals(string w, int s) => w == "shop" ? (40L * s, 40L * s / 1000) : (2L * s, 3L * s / 60);
        var workloads = new[] { "shop", "shop-canary" };
        if (!linkerd)
        {
            sb.Append("# TYPE istio_requests counter\n");
            foreach (var w in workloads)
                foreach (var code in new[] { "200", "503" })
                    for (var s = 0; s <= 1800; s += 15)
                    {
                        var (r, f) = Totals(w, s);
                        sb.Append(CultureInfo.InvariantCulture,
                            $"istio_requests_total{{reporter=\"destination\",destination_workload=\"{w}\",destination_workload_namespace=\"web\",response_code=\"{code}\"}} {(code == "200" ? r - f : f)} {T0.ToUnixTimeSeconds() + s}\n");
                    }
            sb.Append("# TYPE istio_request_duration_milliseconds histogram\n");
            foreach (var w in workloads)
                for (var s = 0; s <= 1800; s += 15)
                {
                    var (r, _) = Totals(w, s);
                    var labels = $"reporter=\"destination\",destination_workload=\"{w}\",destination_workload_namespace=\"web\"";
                    foreach (var (le, share) in new[] { ("50", 0.5), ("100", 0.9), ("250", 0.99), ("+Inf", 1.0) })
                        sb.Append(CultureInfo.InvariantCulture, $"istio_request_duration_milliseconds_bucket{{{labels},le=\"{le}\"}} {(long)(r * share)} {T0.ToUnixTimeSeconds() + s}\n");
                    sb.Append(CultureInfo.InvariantCulture, $"istio_request_duration_milliseconds_count{{{labels}}} {r} {T0.ToUnixTimeSeconds() + s}\n");
                    sb.Append(CultureInfo.InvariantCulture, $"istio_request_duration_milliseconds_sum{{{labels}}} {r * 60} {T0.ToUnixTimeSeconds() + s}\n");
                }
        }
        else
        {
            sb.Append("# TYPE response counter\n");
            foreach (var w in workloads)
                foreach (var cls in new[] { "success", "failure" })
                    for (var s = 0; s <= 1800; s += 15)
                    {
                        var (r, f) = Totals(w, s);
                        sb.Append(CultureInfo.InvariantCulture,
                            $"response_total{{direction=\"inbound\",deployment=\"{w}\",namespace=\"web\",classification=\"{cls}\"}} {(cls == "success" ? r - f : f)} {T0.ToUnixTimeSeconds() + s}\n");
                    }
        }
        sb.Append("# EOF\n");
        return (sb.ToString(), (w, t) => Totals(w, (int)(t - T0).TotalSeconds));
    }

    private static PrometheusMetricSource Source(Uri address, string builtin) =>
        new(new PrometheusClient(new HttpClient(), address), new PrometheusProviderSpec(address.ToString(), builtin, null, null, null, TimeSpan.FromSeconds(10)),
            "web", "shop-canary", "shop");

    [PrometheusFact]
    public async Task Istio_counts_come_back_exact_to_the_request()
    {
        var (text, at) = Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        var start = T0.AddMinutes(5);
        var end = T0.AddMinutes(15);
        var window = await Source(prom.Address, "istio").WindowAsync(start, end, CancellationToken.None);
        var (cr1, cf1) = at("shop-canary", start);
        var (cr2, cf2) = at("shop-canary", end);
        var (sr1, sf1) = at("shop", start);
        var (sr2, sf2) = at("shop", end);
        Assert.Equal(cr2 - cr1, window.Canary.Requests);
        Assert.Equal(cf2 - cf1, window.Canary.Failures);
        Assert.Equal(sr2 - sr1, window.Control.Requests);
        Assert.Equal(sf2 - sf1, window.Control.Failures);
        Assert.Equal(window.Canary.Requests, window.Canary.Latency!.Total);
        Assert.Equal((long)(cr2 * 0.9) - (long)(cr1 * 0.9), window.Canary.Latency.CumulativeCounts[1]);
    }

    [PrometheusFact]
    public async Task A_range_catch_up_gives_the_real_prometheus_windows_the_instant_queries_give()
    {
        // query_range is evaluated step by step like instant queries (same lookback): the edges it returns must be
        // the ones the instant queries read, so a catch-up judges the same counts either way.
        var (text, at) = Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        var ahead = Source(prom.Address, "istio");
        var start = T0.AddMinutes(3);
        await ahead.PrefetchAsync(start, TimeSpan.FromMinutes(1), 6, CancellationToken.None);
        var one = Source(prom.Address, "istio");
        for (var i = 0; i < 6; i++)
        {
            var (from, to) = (start.AddMinutes(i), start.AddMinutes(i + 1));
            var read = await ahead.WindowAsync(from, to, CancellationToken.None);
            var single = await one.WindowAsync(from, to, CancellationToken.None);
            Assert.Equal(at("shop-canary", to).Requests - at("shop-canary", from).Requests, read.Canary.Requests);
            Assert.Equal((single.Canary.Requests, single.Canary.Failures, single.Control.Requests, single.Control.Failures),
                (read.Canary.Requests, read.Canary.Failures, read.Control.Requests, read.Control.Failures));
            Assert.Equal(single.Canary.Latency!.CumulativeCounts, read.Canary.Latency!.CumulativeCounts);
        }
    }

    [PrometheusFact]
    public async Task Linkerd_counts_come_back_exact_to_the_request()
    {
        var (text, at) = Generate(linkerd: true);
        await using var prom = await PrometheusServer.StartAsync(text);
        var start = T0.AddMinutes(1);
        var end = T0.AddMinutes(11);
        var window = await Source(prom.Address, "linkerd").WindowAsync(start, end, CancellationToken.None);
        Assert.Equal(at("shop-canary", end).Requests - at("shop-canary", start).Requests, window.Canary.Requests);
        Assert.Equal(at("shop-canary", end).Failures - at("shop-canary", start).Failures, window.Canary.Failures);
        Assert.Equal(at("shop", end).Failures - at("shop", start).Failures, window.Control.Failures);
    }

    [Fact]
    public async Task Prometheus_down_is_an_error_never_a_pass()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
        var source = Source(new Uri($"http://127.0.0.1:{port}/"), "istio");
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => source.WindowAsync(T0, T0.AddMinutes(1), CancellationToken.None));
        Assert.Contains("cannot be reached", e.Message);
        Assert.Equal(KubesteadErrorKind.Unavailable, e.Kind);
    }

    [Fact]
    public void Names_substituted_into_promql_cannot_inject()
    {
        var vars = new Dictionary<string, string> { ["namespace"] = "web\"} or vector(1) #", ["deployment"] = "shop" };
        var e = Assert.Throws<ArgumentException>(() => PromQl.Render("sum(x{namespace=\"{{namespace}}\"})", vars));
        Assert.Contains("not a Kubernetes name", e.Message);
        Assert.Equal("\"a\\\"b\\\\c\"", PromQl.Quote("a\"b\\c"));
        Assert.Throws<ArgumentException>(() => PromQl.Render("{{unknown}}", vars));
        Assert.Equal("sum(x{namespace=\"ok\"})", PromQl.Render("sum(x{namespace=\"{{ namespace }}\"})", new Dictionary<string, string> { ["namespace"] = "ok" }));
    }
}

/// <summary>Issue #29: the window's counts per pod, which the sequential judges learn the pods' dispersion from.</summary>
public class PrometheusPerPodTests
{
    [PrometheusFact]
    public async Task Each_pods_counts_come_back_beside_the_totals()
    {
        var t0 = PrometheusIntegrationTests.T0;
        // Three stable pods at 10, 20 and 30 req/s failing 1, 2 and 6 in 1000; one canary pod at 5 req/s, 3 in 1000.
        var pods = new[] { ("shop", "shop-7d9f-a1b2c", 10L, 1L), ("shop", "shop-7d9f-d3e4f", 20L, 2L), ("shop", "shop-7d9f-g5h6i", 30L, 6L), ("shop-canary", "shop-canary-5c8b-j7k8l", 5L, 3L) };
        var sb = new System.Text.StringBuilder("# TYPE istio_requests counter\n");
        foreach (var (w, pod, rps, perMille) in pods)
            foreach (var code in new[] { "200", "503" })
                for (var s = 0; s <= 1800; s += 15)
                {
                    var r = rps * s;
                    var f = r * perMille / 1000;
                    sb.Append(System.Globalization.CultureInfo.InvariantCulture,
                        $"istio_requests_total{{reporter=\"destination\",destination_workload=\"{w}\",destination_workload_namespace=\"web\",pod=\"{pod}\",response_code=\"{code}\"}} {(code == "200" ? r - f : f)} {t0.ToUnixTimeSeconds() + s}\n");
                }
        sb.Append("# EOF\n");
        await using var prom = await PrometheusServer.StartAsync(sb.ToString());
        var source = new PrometheusMetricSource(new PrometheusClient(new HttpClient(), prom.Address),
            new PrometheusProviderSpec(prom.Address.ToString(), "istio", null, null, null, TimeSpan.FromSeconds(10)), "web", "shop-canary", "shop") { WithLatency = false };
        var window = await source.WindowAsync(t0.AddMinutes(5), t0.AddMinutes(15), CancellationToken.None);
        long Count(long rps, long perMille, bool failures) => failures ? rps * 900 * perMille / 1000 - rps * 300 * perMille / 1000 : rps * 600;
        var expected = pods.Where(p => p.Item1 == "shop").Select(p => new PodSample(p.Item2, Count(p.Item3, p.Item4, false), Count(p.Item3, p.Item4, true))).ToList();
        Assert.Equal(expected, window.Control.Pods!);
        Assert.Equal(window.Control.Requests, window.Control.Pods!.Sum(p => p.Requests));
        Assert.Equal(window.Control.Failures, window.Control.Pods!.Sum(p => p.Failures));
        Assert.Equal([new PodSample("shop-canary-5c8b-j7k8l", Count(5, 3, false), Count(5, 3, true))], window.Canary.Pods!);
    }
}
