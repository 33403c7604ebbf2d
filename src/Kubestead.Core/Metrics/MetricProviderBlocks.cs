using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;

namespace Kubestead.Metrics;

/// <summary>The provider blocks a spec may use. The first is the one asked for when a metric names none.</summary>
internal static class MetricProviderBlocks
{
    public static readonly IReadOnlyList<IMetricProviderBlock> All = [new PrometheusSpecBlock(), new SimulatedSpecBlock()];
}
