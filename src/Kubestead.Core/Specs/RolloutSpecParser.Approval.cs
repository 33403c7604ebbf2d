using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    /// <summary><c>approval: {}</c> or <c>approval: {timeout: 1h, onTimeout: abort|pause}</c>.</summary>
    private static ApprovalStepSpec? ReadApproval(SpecReader r, YamlMappingNode step, string path)
    {
        var node = SpecReader.Child(step, "approval")!;
        if (SpecReader.IsNull(node)) return new ApprovalStepSpec(null, false);
        var m = r.Map(step, "approval", path, required: false);
        if (m is null) return null;
        var p = $"{path}.approval";
        r.CheckKeys(m, p, "timeout", "onTimeout");
        var timeout = r.Duration(m, "timeout", p, min: TimeSpan.FromSeconds(1));
        var onTimeout = r.Enum(m, "onTimeout", p, ["pause", "abort"], "pause");
        if (timeout is null && SpecReader.Child(m, "onTimeout") is { } stray)
            r.Problem(stray, $"{p}.onTimeout", "applies only with a timeout (without one the gate waits until approved or aborted)");
        return onTimeout is null ? null : new ApprovalStepSpec(timeout, onTimeout == "abort");
    }
}
