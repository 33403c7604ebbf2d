using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Abort of a rollout whose state ConfigMap was deleted mid-rollout (issue #26 item 9): the spec copy on its Lease
/// (<see cref="RolloutLease.SpecAnnotation"/>) is enough to rebuild the routers and the footprint, so the record is
/// re-created as Aborted with its clean-up not started, and abort's ordinary path (traffic to stable, routes, canary
/// after scaleDownDelay, objects found by their marks) finishes it like any other.
/// </summary>
public static class LostStateRecovery
{
    /// <summary>The record abort re-creates, not yet written (a dry run lists it); throws <see cref="RolloutNotFoundException"/> without a Lease copy.</summary>
    public static async Task<StoredRollout> PlanAsync(IKubernetesApi api, TimeProvider clock, DriverIdentity driver, string ns, string name, CancellationToken ct)
    {
        string? yaml = null;
        try
        {
            yaml = RolloutLease.SpecCopy(await api.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(name), ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
        if (yaml is null) throw new RolloutNotFoundException(ns, name);
        var now = clock.GetUtcNow();
        var message = $"ConfigMap {RolloutStateStore.ObjectName(name)} (the rollout's state) was missing: re-created by {driver} from the spec copy on " +
                      $"Lease {RolloutLease.ObjectName(name)} to abort the rollout";
        var status = new RolloutStatus
        {
            Phase = RolloutPhase.Aborted,
            Message = message,
            Prepared = true,
            StartedAt = now,
            UpdatedAt = now,
            FinishedAt = now,
        }.WithHistory(new RolloutHistoryEntry(now, driver.ToString(), "abort", message));
        var recovered = new StoredRollout(ns, name, yaml, status, "");
        recovered.ParseSpec(); // a copy that no longer parses is refused before anything is written
        return recovered;
    }

    /// <summary>Writes the record <see cref="PlanAsync"/> describes; one created meanwhile by someone else is used as it is.</summary>
    public static async Task<StoredRollout> RecreateAsync(IKubernetesApi api, TimeProvider clock, DriverIdentity driver, string ns, string name, CancellationToken ct)
    {
        var planned = await PlanAsync(api, clock, driver, ns, name, ct).ConfigureAwait(false);
        var store = new RolloutStateStore(api);
        try
        {
            return await store.CreateAsync(ns, name, planned.SpecYaml, planned.Status, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            return await store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        }
    }
}
