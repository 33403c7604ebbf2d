using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// The writes of <c>start</c> (Lease, state ConfigMap, canary Deployment, canary Service, route objects, and with
/// waiting the steps up to the first traffic change) as one all-or-nothing unit: when anything fails before traffic has
/// moved, what this start created is undone in reverse order and the error says what was undone. When the undo itself
/// fails, the rollout is recorded as Failed with the exact leftovers, so <c>abort</c> can finish the job. Cancellation
/// is not a failure: a cancelled start stays resumable. When the state cannot be read back (the API server is gone), nothing
/// is undone: only the record can prove that traffic never moved.
/// </summary>
public sealed class StartTransaction(
    IKubernetesApi api,
    RolloutStateStore store,
    RolloutDriver engine,
    TimeProvider clock,
    DriverIdentity driver,
    Func<string, string, CancellationToken, Task<RolloutLease>> acquireLease,
    Func<RolloutLease, Task> releaseLease)
{
    /// <param name="scrape">The metrics' scrape interval, read before the Lease is taken (see <see cref="RolloutDriver.ReadScrapeIntervalAsync"/>).</param>
    public async Task<StoredRollout> RunAsync(RolloutSpec spec, string yaml, RolloutRuntime runtime, bool wait, Action beforePrepare, CancellationToken ct,
        ScrapeIntervalResolution? scrape = null)
    {
        var startedAt = clock.GetUtcNow();
        RolloutLease? lease = null;
        var leaseGone = false;
        try
        {
            lease = await acquireLease(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            // The preflight made sure any earlier record is of a finished, cleaned-up rollout: it is replaced.
            var earlier = await store.TryLoadAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            if (earlier is not null) await store.DeleteAsync(earlier, ct).ConfigureAwait(false);
            // The previous rollouts' history stays (bounded), so a re-run does not erase what happened before.
            var history = earlier?.Status.History.TakeLast(RolloutStatus.MaxHistory / 2).ToList() ?? [];
            var status = new RolloutStatus { StartedAt = startedAt, UpdatedAt = startedAt, Message = "started", History = history }
                .WithHistory(new RolloutHistoryEntry(startedAt, driver.ToString(), "start", $"rollout started ({spec.Steps.Count} steps, {spec.MeshProvider})"));
            var stored = await store.CreateAsync(spec.Namespace, spec.Name, yaml, status, ct, adoptable: spec.ControllerAdopt).ConfigureAwait(false);
            beforePrepare();
            stored = await engine.Executor.EnsurePreparedAsync(stored, runtime, ct).ConfigureAwait(false);
            if (wait) stored = await engine.DriveHeldAsync(stored, lease, ct, givenSpec: spec, scrape: scrape).ConfigureAwait(false);
            return stored;
        }
        // A lost state (deleted mid-drive) proves nothing about traffic: undoing could pull a canary out of its analysis.
        catch (Exception e) when (e is KubesteadException or KubernetesApiException && e is not RolloutStateLostException && !ct.IsCancellationRequested)
        {
            // Another driver may own the rollout now: an undo would delete it under them (issue #26 item 4).
            if (lease is not null && !await lease.ConfirmHeldAsync(ct).ConfigureAwait(false)) throw;
            StoredRollout? current;
            try
            {
                current = await store.TryLoadAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException readError)
            {
                // Only the recorded state can prove that traffic never moved; without it an undo could pull a canary out
                // of the middle of its analysis (issue #26). Leave everything as it is and say so.
                throw new StartStateUnknownException(e, readError, spec.Namespace, spec.Name);
            }
            if (current is not null && (current.Status.StartedAt != startedAt || TrafficMoved(current.Status) || current.Status.Phase.IsTerminal()))
                throw; // not this start's record, or past the point of no return: the rollout continues from its state
            var (undone, leftovers, undoError) = await UndoAsync(spec, runtime, current, ct).ConfigureAwait(false);
            if (leftovers.Count == 0)
            {
                leaseGone = await DeleteOwnLeaseAsync(spec, ct).ConfigureAwait(false);
                throw new StartUndoneException(e,
                    $"{e.Message}{Environment.NewLine}start undone, nothing left behind: {(undone.Count == 0 ? "nothing had been created" : string.Join("; ", undone))}",
                    undone, leftovers);
            }
            var failedMessage = $"start failed ({e.Message}) and its undo did not finish ({undoError ?? "objects remain"}); left behind: {string.Join("; ", leftovers)}";
            await RecordFailedAsync(spec, yaml, current, failedMessage, startedAt, ct).ConfigureAwait(false);
            throw new StartUndoneException(e,
                $"{e.Message}{Environment.NewLine}the undo of this start did not finish{(undoError is null ? "" : $" ({undoError})")}; left behind: {string.Join("; ", leftovers)}" +
                $"{Environment.NewLine}rollout {spec.Name} is recorded as Failed: run `kubestead abort {spec.Name} -n {spec.Namespace}` (Stop-KubesteadRollout) to finish the clean-up",
                undone, leftovers);
        }
        finally
        {
            if (lease is not null && !leaseGone) await releaseLease(lease).ConfigureAwait(false);
        }
    }

    /// <summary>Traffic has reached the canary (or its header route) once: from there on only abort takes it back.</summary>
    internal static bool TrafficMoved(RolloutStatus s) => s.LastWritten is not null || s.HeaderRoutes.Count > 0 || s.CanaryWeight > 0;

    /// <summary>Reverse order of start: traffic, header routes, route objects, canary objects, state record.</summary>
    private async Task<(List<string> Undone, IReadOnlyList<string> Leftovers, string? Error)> UndoAsync(
        RolloutSpec spec, RolloutRuntime rt, StoredRollout? current, CancellationToken ct)
    {
        var cleanup = new RolloutCleanup(api, spec.Namespace, spec.Name, RolloutFootprint.For(spec));
        var undone = new List<string>();
        string? error = null;
        try
        {
            var before = await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false);
            if (await RolloutCleanup.ReturnTrafficToStableAsync(rt, ct).ConfigureAwait(false) is { Written: true } split)
                undone.Add($"traffic returned to stable on {split.Split.Source}");
            foreach (var route in current?.Status.HeaderRoutes ?? [])
                await RolloutCleanup.SkipMissingAsync(() => rt.Router.RemoveHeaderRouteAsync(route, ct)).ConfigureAwait(false);
            await RolloutCleanup.SkipMissingAsync(() => rt.Router.CleanupAsync(ct)).ConfigureAwait(false);
            await RolloutCleanup.SkipMissingAsync(() => rt.Workload.DeleteCanaryIfCreatedAsync(ct)).ConfigureAwait(false);
            await cleanup.DeleteOwnedAsync(ct).ConfigureAwait(false);
            var after = await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false);
            undone.AddRange(before.Except(after).Select(l => "removed " + l));
            if (after.Count > 0) return (undone, after, null);
            if (current is not null)
            {
                await store.DeleteAsync(current, ct).ConfigureAwait(false);
                undone.Add($"deleted the state ConfigMap {RolloutStateStore.ObjectName(spec.Name)}");
            }
            return (undone, Array.Empty<string>(), null);
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException)
        {
            error = e.Message;
        }
        IReadOnlyList<string> left;
        try
        {
            left = await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false);
            if (left.Count == 0 && current is not null)
                left = [$"ConfigMap {RolloutStateStore.ObjectName(spec.Name)} (the record of this failed start)"];
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException)
        {
            left = [$"unknown: listing the rollout's objects failed too ({e.Message})"];
        }
        return (undone, left.Count == 0 ? [$"unknown ({error})"] : left, error);
    }

    /// <summary>Leaves a Failed record (creating one when the start never got that far) so abort can finish the clean-up.</summary>
    private async Task RecordFailedAsync(RolloutSpec spec, string yaml, StoredRollout? current, string message, DateTimeOffset startedAt, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        try
        {
            var baseStatus = current?.Status ?? new RolloutStatus { StartedAt = startedAt };
            var failed = (baseStatus with
            {
                Phase = RolloutPhase.Failed, PauseReason = null, Message = message, CleanupDone = false, FinishedAt = now, UpdatedAt = now,
            }).WithHistory(new RolloutHistoryEntry(now, driver.ToString(), "abort", message));
            if (current is null) await store.CreateAsync(spec.Namespace, spec.Name, yaml, failed, ct, adoptable: spec.ControllerAdopt).ConfigureAwait(false);
            else await store.SaveAsync(current, failed, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException)
        {
            // The error the caller throws lists the leftovers either way; without a record abort cannot see them.
        }
    }

    /// <summary>Deletes the Lease when this process holds it: an undone start leaves no trace.</summary>
    private async Task<bool> DeleteOwnLeaseAsync(RolloutSpec spec, CancellationToken ct)
    {
        try
        {
            var lease = await api.GetAsync(ResourceType.Lease, spec.Namespace, RolloutLease.ObjectName(spec.Name), ct).ConfigureAwait(false);
            if (lease["spec"]?["holderIdentity"]?.GetValue<string>() != driver.ToString()) return false;
            await api.DeleteAsync(ResourceType.Lease, spec.Namespace, RolloutLease.ObjectName(spec.Name),
                new DeleteOptions(PreconditionResourceVersion: lease["metadata"]?["resourceVersion"]?.GetValue<string>()), ct).ConfigureAwait(false);
            return true;
        }
        catch (KubernetesApiException e)
        {
            return e.IsNotFound;
        }
    }
}
