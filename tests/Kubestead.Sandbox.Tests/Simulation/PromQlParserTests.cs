using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>The sandbox's one PromQL parser: what Kubestead's providers send, and clear refusals for the rest.</summary>
public class PromQlParserTests
{
    [Fact]
    public void A_selector_reads_its_name_and_every_kind_of_matcher()
    {
        var q = PromQlParser.Parse("""istio_requests_total{reporter="destination", response_code=~"5..",destination_workload!='shop', pod!~"shop-canary-.*",}""");
        Assert.Equal("istio_requests_total", q.Selector.Metric);
        Assert.Equal(
            [
                new LabelMatcher("reporter", LabelMatchOp.Equal, "destination"),
                new LabelMatcher("response_code", LabelMatchOp.Regex, "5.."),
                new LabelMatcher("destination_workload", LabelMatchOp.NotEqual, "shop"),
                new LabelMatcher("pod", LabelMatchOp.NotRegex, "shop-canary-.*"),
            ],
            q.Selector.Matchers);
        Assert.Null(q.SumBy);
        Assert.Null(q.Function);
    }

    [Fact]
    public void Escapes_in_values_and_colons_in_names_are_read_as_Prometheus_reads_them()
    {
        var q = PromQlParser.Parse("""rt:client:requests{client=~".*/#/io\\.l5d\\.k8s/web/[^/]+/shop",x="a\"b"}""");
        Assert.Equal("rt:client:requests", q.Selector.Metric);
        Assert.Equal(@".*/#/io\.l5d\.k8s/web/[^/]+/shop", q.Selector.Matchers[0].Value);
        Assert.Equal("a\"b", q.Selector.Matchers[1].Value);
        Assert.True(q.Selector.Matchers[0].Matches(new Dictionary<string, string> { ["client"] = "/%/t/#/io.l5d.k8s/web/http/shop" }));
        Assert.False(q.Selector.Matchers[0].Matches(new Dictionary<string, string> { ["client"] = "/%/t/#/io.l5d.k8s/web/http/shop-canary" }));
    }

    [Theory]
    [InlineData("sum(m{a=\"1\"})", new string[0])]
    [InlineData("sum by (le) (m{a=\"1\"})", new[] { "le" })]
    [InlineData("sum(m{a=\"1\"}) by (pod, le)", new[] { "pod", "le" })]
    [InlineData("sum by(pod,)(m)", new[] { "pod" })]
    public void Sum_groups_by_the_labels_given_before_or_after_its_argument(string query, string[] by)
    {
        var q = PromQlParser.Parse(query);
        Assert.Equal(by, q.SumBy);
        Assert.Equal("m", q.Selector.Metric);
    }

    [Fact]
    public void Rate_and_increase_read_their_range()
    {
        var q = PromQlParser.Parse("sum by (pod) (increase(response_total{direction=\"inbound\"}[1m30s]))");
        Assert.Equal("increase", q.Function);
        Assert.Equal(TimeSpan.FromSeconds(90), q.Range);
        Assert.Equal(["pod"], q.SumBy);
        Assert.Equal(TimeSpan.FromMinutes(5), PromQlParser.Parse("rate(m[5m])").Range);
    }

    [Fact]
    public void A_name_may_come_as_a_matcher()
    {
        var q = PromQlParser.Parse("{__name__=\"up\",job=\"x\"}");
        Assert.Equal("up", q.Selector.Metric);
        Assert.Equal([new LabelMatcher("job", LabelMatchOp.Equal, "x")], q.Selector.Matchers);
    }

    [Theory]
    [InlineData("avg(m)", "aggregation 'avg' (only sum)")]
    [InlineData("irate(m[5m])", "function 'irate' (only rate, increase)")]
    [InlineData("histogram_quantile(0.99, m)", "function 'histogram_quantile'")]
    [InlineData("rate(m)", "rate(...) without a range")]
    [InlineData("increase(m[5x])", "'x' is not a duration unit")]
    [InlineData("sum(sum(m))", "nested aggregations")]
    [InlineData("sum without (pod) (m)", "without (...) (only by (...))")]
    [InlineData("m / m", "unexpected '/ m'")]
    [InlineData("m offset 5m", "offset and @ modifiers")]
    [InlineData("m{a=1}", "a quoted string is expected")]
    [InlineData("m{a~\"1\"}", "a matcher operator (=, !=, =~, !~) is expected after 'a'")]
    [InlineData("m{a=\"1\"", "',' or '}' is expected")]
    [InlineData("m{a=~\"(\"}", "is not a valid regular expression")]
    [InlineData("m{a=\"1}", "a string is not closed")]
    [InlineData("{job=\"x\"}", "a metric name is expected")]
    public void What_it_does_not_answer_is_refused_saying_what_and_where(string query, string message)
    {
        var e = Assert.Throws<PromQlNotSupportedException>(() => PromQlParser.Parse(query));
        Assert.Contains(message, e.Message);
        Assert.Contains("at character", e.Message);
        Assert.Contains(query, e.Message);
    }

    [Fact]
    public void A_series_line_of_the_exposition_reads_its_labels_and_value()
    {
        var (name, labels, value) = PromQlParser.ParseSeriesLine("response_latency_ms_bucket{deployment=\"shop\",le=\"+Inf\"} 1.5e3");
        Assert.Equal("response_latency_ms_bucket", name);
        Assert.Equal(new Dictionary<string, string> { ["deployment"] = "shop", ["le"] = "+Inf" }, labels);
        Assert.Equal(1500, value);
        Assert.Equal(double.PositiveInfinity, PromQlParser.ParseSeriesLine("up +Inf").Value);
    }
}
