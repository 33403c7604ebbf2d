using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.Simulated;

/// <summary><c>provider.simulated</c>: no settings; the sandbox says where its simulator is.</summary>
internal sealed class SimulatedSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "simulated";

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader reader, YamlMappingNode provider, string path, string? mesh) => new SimulatedProviderSpec();
}
