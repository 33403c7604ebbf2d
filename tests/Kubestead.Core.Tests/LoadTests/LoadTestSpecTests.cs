using Kubestead.LoadTests;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.LoadTests;

/// <summary><c>spec.analysis.loadTest</c> (issue #32): what parses, and every bad field named so `validate` refuses it.</summary>
public class LoadTestSpecTests
{
    private static string Spec(string loadTest, string provider = "simulated: {}") =>
        File.ReadAllText(Path.Combine(RepoPaths.Examples, "sandbox", "istio.yaml"))
            .Replace("          simulated: {}\n", $"          {provider}\n")
            .Replace("  analysis:\n    interval: 10s\n", "  analysis:\n    interval: 10s\n    loadTest:\n" + loadTest);

    private static SpecParseResult Parse(string loadTest, string provider = "simulated: {}") => RolloutSpecParser.Parse(Spec(loadTest, provider));

    [Fact]
    public void A_load_test_parses_with_its_defaults()
    {
        var parsed = Parse("      url: http://shop.shop.svc/\n      requestsPerSecond: 20\n");
        Assert.Empty(parsed.Problems);
        var lt = parsed.Spec!.Analysis!.LoadTest!;
        Assert.Equal("http://shop.shop.svc/", lt.Url);
        Assert.Equal(20, lt.RequestsPerSecond);
        Assert.Equal("GET", lt.Method);
        Assert.Equal(TimeSpan.FromSeconds(5), lt.Timeout);
        Assert.Equal(LoadTestSpec.DefaultMarkerHeader, lt.MarkerHeader);
        Assert.Equal(LoadTestSpec.DefaultMetricLabel, lt.MetricLabel);
        Assert.Empty(lt.Headers);
        Assert.Null(lt.Control);
    }

    private const string EveryField = """
              url: https://shop.example.test/checkout
              requestsPerSecond: 2.5
              method: HEAD
              timeout: 2s
              headers: {x-canary: "true"}
              markerHeader: x-synthetic
              metricLabel: synthetic
              control: {url: https://shop.example.test/other, headers: {x-stable: "1"}}

        """;

    [Fact]
    public void A_load_test_parses_with_every_field_and_its_control_stream()
    {
        var parsed = Parse(EveryField, "prometheus: {address: http://prometheus:9090, builtin: istio}");
        Assert.Empty(parsed.Problems);
        var lt = parsed.Spec!.Analysis!.LoadTest!;
        Assert.Equal(("HEAD", 2.5, "x-synthetic", "synthetic"), (lt.Method, lt.RequestsPerSecond, lt.MarkerHeader, lt.MetricLabel));
        Assert.Equal(TimeSpan.FromSeconds(2), lt.Timeout);
        Assert.Equal("true", lt.Headers["x-canary"]);
        Assert.Equal(new LoadTestTarget("https://shop.example.test/other", new Dictionary<string, string> { ["x-stable"] = "1" }), lt.Control);
        // The same spec read twice compares equal (a CI re-run attaches to the rollout it started).
        Assert.Equal(lt, Parse(EveryField, "prometheus: {address: http://prometheus:9090, builtin: istio}").Spec!.Analysis!.LoadTest);
    }

    [Fact]
    public void An_empty_control_sends_the_control_stream_to_the_same_url_without_the_route_headers()
    {
        var lt = Parse("      url: http://shop/\n      requestsPerSecond: 5\n      headers: {x-canary: \"true\"}\n      control: {}\n").Spec!.Analysis!.LoadTest!;
        Assert.Equal("http://shop/", lt.Control!.Url);
        Assert.Empty(lt.Control.Headers);
    }

    [Theory]
    [InlineData("requestsPerSecond: 5", "spec.analysis.loadTest.url", "required field is missing")]
    [InlineData("url: shop/checkout, requestsPerSecond: 5", "spec.analysis.loadTest.url", "absolute http://")]
    [InlineData("url: 'ftp://shop/', requestsPerSecond: 5", "spec.analysis.loadTest.url", "absolute http://")]
    [InlineData("url: 'http://admin:s3cret@shop/', requestsPerSecond: 5", "spec.analysis.loadTest.url", "must not hold credentials")]
    [InlineData("url: 'http://shop/'", "spec.analysis.loadTest.requestsPerSecond", "required field is missing")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 0", "spec.analysis.loadTest.requestsPerSecond", "")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5000", "spec.analysis.loadTest.requestsPerSecond", "")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, method: POST", "spec.analysis.loadTest.method", "is not one of GET, HEAD")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, timeout: 5m", "spec.analysis.loadTest.timeout", "longer than the maximum 1m")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, headers: {'bad header': x}", "spec.analysis.loadTest.headers.bad header", "not an HTTP header name")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, headers: {x-kubestead-load-test: x}", "spec.analysis.loadTest.headers.x-kubestead-load-test", "is the marker header")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, headers: {x-canary: [1]}", "spec.analysis.loadTest.headers.x-canary", "single-line string")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, markerHeader: 'x y'", "spec.analysis.loadTest.markerHeader", "not an HTTP header name")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, metricLabel: load-test", "spec.analysis.loadTest.metricLabel", "not a Prometheus label name")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, metricLabel: __name__", "spec.analysis.loadTest.metricLabel", "not a Prometheus label name")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, control: {url: 'http://u:p4ss@x/'}", "spec.analysis.loadTest.control.url", "must not hold credentials")]
    [InlineData("url: 'http://shop/', requestsPerSecond: 5, rps: 5", "spec.analysis.loadTest.rps", "")]
    public void Bad_load_test_fields_are_named_and_the_spec_is_refused(string loadTest, string field, string message)
    {
        var parsed = Parse("      {" + loadTest + "}\n");
        Assert.Null(parsed.Spec);
        Assert.Contains(parsed.Problems, p => p.Field == field && p.Message.Contains(message));
        Assert.DoesNotContain(parsed.Problems, p => p.Message.Contains("s3cret") || p.Message.Contains("p4ss"));
    }

    [Theory]
    [InlineData("prometheus: {address: http://prometheus:9090, builtin: linkerd}")]
    [InlineData("prometheus: {address: http://prometheus:9090, requestsQuery: 'sum(a)', failuresQuery: 'sum(b)'}")]
    public void A_metric_that_cannot_tell_synthetic_requests_apart_is_refused_naming_it(string provider)
    {
        var parsed = Parse("      url: http://shop/\n      requestsPerSecond: 5\n", provider);
        Assert.Null(parsed.Spec);
        Assert.Contains(parsed.Problems, p => p.Field == "spec.analysis.metrics[0].provider" && p.Message.Contains("metric 'error-rate' cannot tell"));
    }
}
