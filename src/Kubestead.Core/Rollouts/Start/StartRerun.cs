using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Start;

/// <summary>What a <c>start</c> does when the cluster already knows this rollout (a CI job re-run, a retried pipeline).</summary>
public enum RerunDecision
{
    /// <summary>Nothing runs: record a new rollout.</summary>
    StartNew,
    /// <summary>The same rollout runs already: attach to it and drive it, as <c>wait</c> does.</summary>
    Attach,
    /// <summary>Another version runs and the caller asked to replace it: abort it, then start.</summary>
    ReplaceRunning,
    /// <summary>Stable already runs the canary's version: nothing to roll out, nothing written.</summary>
    AlreadyAtVersion,
}

/// <summary>
/// Makes <c>start</c> safe to repeat: a CI job re-run attaches instead of failing, a different version refuses with its
/// own error (or replaces the running one when asked), and a version already running is not rolled out again.
/// </summary>
public static class StartRerun
{
    public static async Task<RerunDecision> DecideAsync(RolloutSpec spec, RolloutRuntime runtime, StoredRollout? existing, bool replace, CancellationToken ct)
    {
        if (existing is not null && !existing.Status.Phase.IsTerminal())
        {
            var running = RolloutSpecParser.Parse(existing.SpecYaml, RolloutStateStore.ObjectName(existing.Name)).Spec;
            if (running is not null && running.Canary == spec.Canary && running.StableDeployment == spec.StableDeployment) return RerunDecision.Attach;
            if (replace) return RerunDecision.ReplaceRunning;
            throw new RolloutVersionConflictException(existing.Namespace, existing.Name, Describe(running?.Canary), Describe(spec.Canary), existing.Status.Phase);
        }
        try
        {
            return await runtime.Workload.StableRunsCanaryVersionAsync(ct).ConfigureAwait(false) ? RerunDecision.AlreadyAtVersion : RerunDecision.StartNew;
        }
        catch (Exception e) when (e is KubesteadException or Kubernetes.KubernetesApiException && !ct.IsCancellationRequested)
        {
            // Stable cannot be read (missing, forbidden): the preflight that follows reports it with every other problem.
            return RerunDecision.StartNew;
        }
    }

    /// <summary>The answer when stable already runs the canary's version: Completed, nothing written, the last history kept.</summary>
    public static RolloutResult AlreadyAtVersion(RolloutSpec spec, StoredRollout? existing, DateTimeOffset now)
    {
        var message = $"already at this version: Deployment {spec.StableDeployment} runs {Describe(spec.Canary)} (promotion would change nothing in its pod template); nothing to roll out";
        return new RolloutResult(spec.Name, spec.Namespace, RolloutPhase.Completed, null, message, spec.MeshProvider,
            spec.Steps.Count, spec.Steps.Count, null, 100, 0, [], existing?.Status.History ?? [], existing?.Status.StartedAt ?? now, now, now, null);
    }

    internal static string Describe(CanarySpec? canary) => CanaryChangeText.Name(canary);
}

/// <summary>A rollout of another version is running: starting this one would fight it. Replace it explicitly or wait.</summary>
public sealed class RolloutVersionConflictException(string ns, string name, string running, string requested, RolloutPhase phase)
    : RolloutException("RolloutRunningAnotherVersion", KubesteadErrorKind.Conflict,
        $"Rollout '{name}' in namespace '{ns}' is {phase} with {running}; this start asks for {requested}. " +
        "Run start with --replace (-Replace) to abort the running rollout and start this one, or wait for it to finish",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}");
