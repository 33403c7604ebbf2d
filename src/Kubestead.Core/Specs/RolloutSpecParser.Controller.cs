using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    /// <summary><c>controller: {adopt: true}</c>: whether a controller may take the rollout over once its driver's Lease expires.</summary>
    private static bool ReadControllerAdopt(SpecReader r, YamlMappingNode spec)
    {
        var m = r.Map(spec, "controller", "spec", required: false);
        if (m is null) return false;
        r.CheckKeys(m, "spec.controller", "adopt");
        return r.Bool(m, "adopt", "spec.controller", false) ?? false;
    }
}
