using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Rollouts.State;

/// <summary>A rollout as read from its ConfigMap: the spec text as the user wrote it, the status, and the version read.</summary>
public sealed record StoredRollout(string Namespace, string Name, string SpecYaml, RolloutStatus Status, string ResourceVersion)
{
    /// <summary>
    /// The recorded spec, in the namespace the state lives in. Every process that drives or reads the rollout works from
    /// this copy, not from a file on its own disk, so a takeover on another machine follows the same plan.
    /// </summary>
    public RolloutSpec ParseSpec()
    {
        var result = RolloutSpecParser.Parse(SpecYaml, RolloutStateStore.ObjectName(Name));
        if (!result.IsValid)
            throw new RolloutStateCorruptException(Namespace, Name, "the stored spec no longer parses: " + string.Join("; ", result.Problems));
        return result.Spec! with { Namespace = Namespace };
    }
}
