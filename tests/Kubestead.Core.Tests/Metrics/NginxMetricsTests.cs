using System.Globalization;
using System.Text;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>The builtin <c>nginx</c> query: ingress-nginx's request counter of the stable Ingress, split by its <c>canary</c> label.</summary>
public class NginxMetricsTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeSeconds() / 60 * 60);

    private static PrometheusMetricSource Source(Uri address) =>
        new(new PrometheusClient(new HttpClient(), address), new PrometheusProviderSpec(address.ToString(), "nginx", null, null, null, TimeSpan.FromSeconds(10)),
            "web", "shop-canary", "shop") { Ingress = "shop" };

    [Fact]
    public void The_queries_select_the_stable_Ingress_and_tell_versions_apart_by_the_canary_label()
    {
        var source = Source(new Uri("http://127.0.0.1:9/"));
        var canary = source.Queries("shop-canary");
        var stable = source.Queries("shop");
        Assert.Equal("nginx_ingress_controller_requests{namespace=\"web\",ingress=\"shop\",canary!=\"\"}", canary.Requests);
        Assert.Equal("nginx_ingress_controller_requests{namespace=\"web\",ingress=\"shop\",canary!=\"\",status=~\"5..\"}", canary.Failures);
        Assert.Equal("nginx_ingress_controller_requests{namespace=\"web\",ingress=\"shop\",canary=\"\"}", stable.Requests);
        Assert.Equal("nginx_ingress_controller_request_duration_seconds_bucket{namespace=\"web\",ingress=\"shop\",canary=\"\"}", stable.Buckets);
    }

    [Fact]
    public void A_spec_with_meshProvider_nginx_defaults_to_the_nginx_builtin()
    {
        var spec = RolloutSpecParser.ParseFile(Path.Combine(RepoPaths.Examples, "nginx.yaml")).Spec!;
        Assert.Equal("nginx", spec.Analysis!.Metrics[0].Provider is PrometheusProviderSpec p ? p.Builtin : null);
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Examples, "nginx.yaml")).Replace("            builtin: nginx\n", "");
        Assert.Equal("nginx", RolloutSpecParser.Parse(yaml).Spec!.Analysis!.Metrics[0].Provider is PrometheusProviderSpec q ? q.Builtin : null);
        Assert.Equal(new NginxSettings("storefront", "storefront-canary", "checkout-canary", 1000), spec.Nginx);
    }

    /// <summary>
    /// Counters every 15 s: stable 40 req/s, canary 2 req/s, both labelled with the stable Ingress and Service as
    /// ingress-nginx does; only the canary label (the canary upstream) differs. Another Ingress's series must not count.
    /// </summary>
    private static (string Text, Func<bool, DateTimeOffset, (long Requests, long Failures)> At) Generate()
    {
        (long, long) Totals(bool canary, int s) => canary ? (2L * s, 3L * s / 60) : (40L * s, 40L * s / 1000);
        var sb = new StringBuilder("# TYPE nginx_ingress_controller_requests counter\n");
        var series = new[] { ("shop", false), ("shop", true), ("other", false) };
        foreach (var (ingress, canary) in series)
            foreach (var status in new[] { "200", "503" })
                for (var s = 0; s <= 1800; s += 15)
                {
                    var (r, f) = Totals(canary, s);
                    var labels = $"namespace=\"web\",ingress=\"{ingress}\",service=\"{ingress}\",canary=\"{(canary ? "web-shop-canary-80" : "")}\",status=\"{status}\",method=\"GET\"";
                    sb.Append(CultureInfo.InvariantCulture, $"nginx_ingress_controller_requests{{{labels}}} {(status == "200" ? r - f : f) * (ingress == "other" ? 7 : 1)} {T0.ToUnixTimeSeconds() + s}\n");
                }
        sb.Append("# TYPE nginx_ingress_controller_request_duration_seconds histogram\n");
        foreach (var canary in new[] { false, true })
            for (var s = 0; s <= 1800; s += 15)
            {
                var (r, _) = Totals(canary, s);
                var labels = $"namespace=\"web\",ingress=\"shop\",service=\"shop\",canary=\"{(canary ? "web-shop-canary-80" : "")}\"";
                foreach (var (le, share) in new[] { ("0.05", 0.5), ("0.1", 0.9), ("0.25", 0.99), ("+Inf", 1.0) })
                    sb.Append(CultureInfo.InvariantCulture, $"nginx_ingress_controller_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {(long)(r * share)} {T0.ToUnixTimeSeconds() + s}\n");
                sb.Append(CultureInfo.InvariantCulture, $"nginx_ingress_controller_request_duration_seconds_count{{{labels}}} {r} {T0.ToUnixTimeSeconds() + s}\n");
                sb.Append(CultureInfo.InvariantCulture, $"nginx_ingress_controller_request_duration_seconds_sum{{{labels}}} {r * 0.06} {T0.ToUnixTimeSeconds() + s}\n");
            }
        sb.Append("# EOF\n");
        return (sb.ToString(), (canary, t) => Totals(canary, (int)(t - T0).TotalSeconds));
    }

    [PrometheusFact]
    public async Task Nginx_counts_come_back_exact_and_the_seconds_histogram_in_milliseconds()
    {
        var (text, at) = Generate();
        await using var prom = await PrometheusServer.StartAsync(text);
        var start = T0.AddMinutes(5);
        var end = T0.AddMinutes(15);
        var window = await Source(prom.Address).WindowAsync(start, end, CancellationToken.None);
        Assert.Equal(at(true, end).Requests - at(true, start).Requests, window.Canary.Requests);
        Assert.Equal(at(true, end).Failures - at(true, start).Failures, window.Canary.Failures);
        Assert.Equal(at(false, end).Requests - at(false, start).Requests, window.Control.Requests);
        Assert.Equal(at(false, end).Failures - at(false, start).Failures, window.Control.Failures);
        Assert.Equal([50.0, 100.0, 250.0, double.PositiveInfinity], window.Canary.Latency!.UpperBoundsMs);
        Assert.Equal(window.Canary.Requests, window.Canary.Latency.Total);
    }
}
