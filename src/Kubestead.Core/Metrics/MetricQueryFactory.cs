using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>
/// Where a rollout's metric gets its windows: the engine asks this once per metric. The default is a
/// <see cref="MetricProviderSet"/> (a provider per spec block); a host may substitute its own (the sandbox's simulator).
/// </summary>
public delegate MetricWindowQuery MetricQueryFactory(RolloutSpec spec, MetricSpec metric);
