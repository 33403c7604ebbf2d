using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// Stable's pod template changed after the rollout recorded it (a hotfix, an env change): promoting now would overwrite
/// that change with a canary built from the old template, so the engine pauses instead.
/// </summary>
public sealed class StableTemplateChangedException(string ns, string deployment, IReadOnlyList<string> changes)
    : RolloutException("StableTemplateChanged", KubesteadErrorKind.Conflict,
        $"Deployment {deployment}'s pod template changed since the rollout started ({string.Join("; ", changes)}); " +
        "Kubestead will not overwrite it: resume to rebuild the canary from the new template and run the steps again, or abort",
        $"deployments.apps/{deployment} in namespace {ns}")
{
    public IReadOnlyList<string> Changes { get; } = changes;
}
