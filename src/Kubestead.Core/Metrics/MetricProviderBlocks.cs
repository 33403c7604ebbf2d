using Kubestead.Metrics.AppInsights;
using Kubestead.Metrics.CloudWatch;
using Kubestead.Metrics.Datadog;
using Kubestead.Metrics.NewRelic;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;
using Kubestead.Metrics.Web;

namespace Kubestead.Metrics;

/// <summary>The provider blocks a spec may use. The first is the one asked for when a metric names none.</summary>
internal static class MetricProviderBlocks
{
    public static readonly IReadOnlyList<IMetricProviderBlock> All = [new PrometheusSpecBlock(), new SimulatedSpecBlock(), new WebSpecBlock(), new AppInsightsSpecBlock(), new DatadogSpecBlock(), new NewRelicSpecBlock(), new CloudWatchSpecBlock()];
}
