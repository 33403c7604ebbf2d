using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;


namespace Kubestead.Core.Tests.Metrics;

public class CounterSeriesDiffTests
{
    private static (IReadOnlyDictionary<string, string> Labels, double Value) S(string pod, double value, string code = "200") =>
        (new Dictionary<string, string> { ["pod"] = pod, ["code"] = code }, value);

    [Fact]
    public void A_vanished_series_is_left_out_instead_of_turning_the_window_into_lifetime_totals()
    {
        // Two stable pods; pod b was scaled down (or missed a scrape) before the window's end. The window's true traffic
        // on a: 100 requests. A sum (10000 + 20000 -> 10100) drops, and reading that as a reset gave 10100.
        var start = new[] { S("shop-7d9f8-aaaaa", 10000), S("shop-7d9f8-bbbbb", 20000) };
        var end = new[] { S("shop-7d9f8-aaaaa", 10100) };
        Assert.Equal(100, CounterSeriesDiff.Total(start, end));
    }

    [Fact]
    public void A_reset_inside_a_series_counts_its_end_value_and_new_series_wait_for_the_next_window()
    {
        var start = new[] { S("a", 5000), S("b", 300) };
        var end = new[] { S("a", 40), S("b", 350), S("c", 70) };
        Assert.Equal(40 + 50, CounterSeriesDiff.Total(start, end));
    }

    [Fact]
    public void Buckets_are_differenced_per_series_then_grouped_by_le()
    {
        static (IReadOnlyDictionary<string, string>, double) B(string pod, string le, double v) => (new Dictionary<string, string> { ["pod"] = pod, ["le"] = le }, v);
        var start = new[] { B("a", "100", 10), B("a", "+Inf", 20), B("b", "100", 1000), B("b", "+Inf", 2000) };
        var end = new[] { B("a", "100", 15), B("a", "+Inf", 30), B("b", "100", 1001), B("b", "+Inf", 2003) };
        var byLe = CounterSeriesDiff.Diff(start, end, l => l["le"]);
        Assert.Equal(6, byLe["100"]);
        Assert.Equal(13, byLe["+Inf"]);
    }

    [Fact]
    public void A_series_born_inside_the_window_counts_from_zero_when_its_pod_was_scraped_at_the_start()
    {
        // Envoy creates the 503 series at the pod's first 503: absent at the start, 3 at the end, all inside the window.
        var start = new[] { S("canary-1", 100) };
        var end = new[] { S("canary-1", 160), S("canary-1", 3, "503") };
        Assert.Equal(60 + 3, CounterSeriesDiff.Total(start, end));
    }

    [Fact]
    public void A_failures_query_knows_its_pods_from_the_requests_query()
    {
        // The failures query matched nothing at the start, but the requests query shows canary-1 was scraped then.
        var requestsAtStart = new[] { S("canary-1", 100), S("canary-2", 80) };
        var failuresEnd = new[] { S("canary-1", 3, "503"), S("canary-3", 7, "503") };
        Assert.Equal(3, CounterSeriesDiff.Total([], failuresEnd, CounterSeriesDiff.Pods(requestsAtStart)));
        // Without that knowledge neither pod is known to have been scraped at the start.
        Assert.Equal(0, CounterSeriesDiff.Total([], failuresEnd));
    }

    [Fact]
    public void A_pod_is_told_by_its_pod_label_else_its_scrape_target()
    {
        Assert.Equal("a", CounterSeriesDiff.PodOf(new Dictionary<string, string> { ["pod"] = "a", ["instance"] = "10.0.0.1:15090" }));
        Assert.Equal("b", CounterSeriesDiff.PodOf(new Dictionary<string, string> { ["kubernetes_pod_name"] = "b", ["instance"] = "10.0.0.1:15090" }));
        Assert.Equal("10.0.0.1:15090", CounterSeriesDiff.PodOf(new Dictionary<string, string> { ["instance"] = "10.0.0.1:15090" }));
    }

    [Theory]
    [InlineData("shop-7d9f8c6b4-x2x9z", true)]
    [InlineData("shop-canary-7d9f8c6b4-x2x9z", false)]
    [InlineData("shop-v2-5f6d7-abcde", false)]
    public void The_stable_pod_regex_does_not_match_the_canary_pods(string pod, bool matches)
    {
        // Prometheus anchors regex matchers at both ends.
        var regex = new System.Text.RegularExpressions.Regex("^(?:" + PrometheusMetricSource.PodRegex("shop") + ")$");
        Assert.Equal(matches, regex.IsMatch(pod));
    }

    [Theory]
    [InlineData("shop.v2-7d9f8c6b4-x2x9z", true)]
    [InlineData("shopxv2-7d9f8c6b4-x2x9z", false)]
    [InlineData("shop-v2-7d9f8c6b4-x2x9z", false)]
    public void A_dot_in_the_Deployment_name_matches_only_a_dot(string pod, bool matches)
    {
        // Deployment names may hold dots; in a regex an unescaped one would also take a neighbour's pods.
        var regex = new System.Text.RegularExpressions.Regex("^(?:" + PrometheusMetricSource.PodRegex("shop.v2") + ")$");
        Assert.Equal(matches, regex.IsMatch(pod));
    }
}
