using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics;

/// <summary>
/// A provider's block in a rollout spec (<c>analysis.metrics[i].provider.&lt;key&gt;</c>): reads it and reports every
/// problem with its field path, so a spec is refused before anything in the cluster changes.
/// </summary>
internal interface IMetricProviderBlock
{
    /// <summary>The key under <c>provider:</c>.</summary>
    string Key { get; }

    /// <summary>Reads the block under <paramref name="provider"/>; null when it has problems (already reported to <paramref name="reader"/>).</summary>
    /// <param name="path">The provider's field path, e.g. <c>spec.analysis.metrics[0].provider</c>.</param>
    /// <param name="mesh">The spec's meshProvider, for defaults that follow the mesh.</param>
    MetricProviderSpec? Read(SpecReader reader, YamlMappingNode provider, string path, string? mesh);
}
