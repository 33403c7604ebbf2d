using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>Base of the engine's own errors; each carries a stable id the cmdlets and CLI surface.</summary>
public abstract class RolloutException(string errorId, KubesteadErrorKind kind, string message, string? target = null, Exception? inner = null)
    : KubesteadException(errorId, kind, message, target, inner);

public sealed class RolloutNotFoundException(string ns, string name)
    : RolloutException("RolloutNotFound", KubesteadErrorKind.NotFound, $"No rollout '{name}' in namespace '{ns}' (no ConfigMap {RolloutStateStore.ObjectName(name)}).",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}")
{
    public string Namespace { get; } = ns;
    public string Name { get; } = name;
}

public sealed class RolloutStateCorruptException(string ns, string name, string detail)
    : RolloutException("RolloutStateCorrupt", KubesteadErrorKind.InvalidState, $"The state of rollout '{name}' in namespace '{ns}' cannot be read: {detail}.",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}");

/// <summary>Another driver holds the rollout's Lease.</summary>
public sealed class RolloutLockedException(string ns, string name, string holder, DateTimeOffset expiresAt)
    : RolloutException("RolloutLocked", KubesteadErrorKind.Conflict,
        $"Rollout '{name}' in namespace '{ns}' is being driven by {holder}; its lease expires at {expiresAt:u} unless renewed.",
        $"leases.coordination.k8s.io/{RolloutLease.ObjectName(name)} in namespace {ns}")
{
    public string Holder { get; } = holder;
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>The holder's own renewTime lies in the past: it probably died, so a driver may watch the Lease to take it over.</summary>
    public bool HolderStoppedRenewing { get; init; }
}

/// <summary>The Lease was taken by someone else while this driver held it (e.g. after a long stall).</summary>
public sealed class RolloutLeaseLostException(string ns, string name, string? newHolder, string? why = null)
    : RolloutException("RolloutLeaseLost", KubesteadErrorKind.Conflict,
        $"This process lost the lease on rollout '{name}' in namespace '{ns}'" + (newHolder is null ? "" : $" to {newHolder}") + (why is null ? "." : $": {why}.") +
        " It stopped writing; the rollout continues from its recorded state with whoever drives it next.",
        $"leases.coordination.k8s.io/{RolloutLease.ObjectName(name)} in namespace {ns}");

/// <summary>A command that does not fit the rollout's phase (e.g. resuming a completed rollout).</summary>
public sealed class RolloutStateException(string errorId, string message, string? target = null)
    : RolloutException(errorId, KubesteadErrorKind.InvalidState, message, target);

/// <summary>The rollout's state changed under this driver (another process paused, aborted or promoted it).</summary>
public sealed class RolloutStateChangedException(string ns, string name)
    : RolloutException("RolloutStateChanged", KubesteadErrorKind.Conflict,
        $"The state of rollout '{name}' in namespace '{ns}' was changed by another process; re-reading it.",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}");
