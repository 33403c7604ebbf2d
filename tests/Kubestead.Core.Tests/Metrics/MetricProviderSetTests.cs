using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>The metrics provider seam: a spec block per provider, and the engine's query chosen by that block's kind.</summary>
public class MetricProviderSetTests
{
    private static string Istio() => File.ReadAllText(Path.Combine(RepoPaths.Examples, "istio.yaml"));

    private sealed class CountingProvider(string kind) : IMetricProvider
    {
        public List<string> Opened { get; } = new();

        public string Kind => kind;

        public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
        {
            Opened.Add(metric.Name);
            return (start, end, _) => Task.FromResult(new MetricWindow(start, end, new VersionSample(10, 1), new VersionSample(90, 0)));
        }
    }

    [Fact]
    public void The_prometheus_block_reads_as_before()
    {
        var provider = Assert.IsType<PrometheusProviderSpec>(RolloutSpecParser.Parse(Istio()).Spec!.Analysis!.Metrics[0].Provider);
        Assert.Equal(new PrometheusProviderSpec("http://prometheus.istio-system:9090", "istio", null, null, null, TimeSpan.FromSeconds(10)), provider);
        Assert.Equal("prometheus", provider.Kind);
    }

    [Fact]
    public void The_simulated_block_reads_as_its_own_kind()
    {
        var yaml = Istio().Replace("          prometheus:\n            address: http://prometheus.istio-system:9090\n            builtin: istio\n", "          simulated: {}\n");
        var result = RolloutSpecParser.Parse(yaml);
        Assert.True(result.IsValid, string.Join("; ", result.Problems.Select(p => p.Message)));
        Assert.IsType<SimulatedProviderSpec>(result.Spec!.Analysis!.Metrics[0].Provider);
    }

    [Fact]
    public void A_metric_naming_two_providers_is_refused_naming_the_field()
    {
        // Before the seam the simulated block silently won over the prometheus block beside it.
        var yaml = Istio().Replace("            builtin: istio\n", "            builtin: istio\n          simulated: {}\n");
        var result = RolloutSpecParser.Parse(yaml);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("spec.analysis.metrics[0].provider", problem.Field);
        Assert.Contains("prometheus and simulated", problem.Message);
    }

    [Fact]
    public void A_metric_naming_no_provider_is_told_which_exist()
    {
        var yaml = Istio().Replace("          prometheus:\n", "          graphite:\n");
        var problems = RolloutSpecParser.Parse(yaml).Problems;
        Assert.Contains(problems, p => p.Field.StartsWith("spec.analysis.metrics[0].provider", StringComparison.Ordinal) && p.Message.Contains("prometheus"));
    }

    [Fact]
    public async Task The_query_comes_from_the_provider_of_the_metrics_kind()
    {
        var spec = RolloutSpecParser.Parse(Istio()).Spec!;
        var prometheus = new CountingProvider("prometheus");
        var other = new CountingProvider("simulated");
        var set = new MetricProviderSet([other, prometheus]);
        var window = await set.Open(spec, spec.Analysis!.Metrics[0])(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(10), CancellationToken.None);
        Assert.Equal(new VersionSample(10, 1), window.Canary);
        Assert.Equal([spec.Analysis.Metrics[0].Name], prometheus.Opened);
        Assert.Empty(other.Opened);
    }

    [Fact]
    public async Task A_kind_the_host_does_not_offer_fails_when_queried_naming_the_metric()
    {
        var spec = RolloutSpecParser.Parse(Istio()).Spec!;
        var query = new MetricProviderSet([new CountingProvider("simulated")]).Open(spec, spec.Analysis!.Metrics[0]);
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(10), CancellationToken.None));
        Assert.Contains($"metric '{spec.Analysis.Metrics[0].Name}' uses the prometheus provider", e.Message);
        Assert.Contains("simulated", e.Message);
    }
}
