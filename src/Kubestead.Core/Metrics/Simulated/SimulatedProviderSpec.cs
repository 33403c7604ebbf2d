using Kubestead.Specs;

namespace Kubestead.Metrics.Simulated;

/// <summary>A metric counted by the sandbox's traffic simulator (in process, or served by `kubestead sandbox`).</summary>
public sealed record SimulatedProviderSpec() : MetricProviderSpec(SimulatedSpecBlock.BlockKey, TimeSpan.FromSeconds(10));
