using System.Collections.Concurrent;
using Kubestead.Analysis;
using Kubestead.Gates;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.State;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// Performs the state machine's actions against the cluster. Before each action it re-reads the rollout's state
/// (so a pause or abort from another process is seen) and records the outcome after it, so a crash anywhere
/// leaves a state from which any process can continue: every action is safe to repeat.
/// </summary>
public sealed class RolloutExecutor(
    RolloutStateStore store,
    TimeProvider clock,
    IRolloutObserver observer,
    DriverIdentity driver)
{
    /// <summary>How often a waiting driver looks for commands from other processes and for drift.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Calls the plan's webhook gates; null fails every gate closed (a host that cannot make HTTP calls).</summary>
    public WebhookGateCaller? Gates { get; init; }

    private string Who => driver.ToString();

    // One throttle per rollout this executor drives (a service may drive several at once).
    private readonly ConcurrentDictionary<string, StatusWriteThrottle> _throttles = new();

    private StatusWriteThrottle Throttle(StoredRollout s) =>
        _throttles.GetOrAdd($"{s.Namespace}/{s.Name}", _ => new StatusWriteThrottle(TimeSpan.FromMinutes(1), clock));

    /// <summary>
    /// Drives until the rollout is terminal or paused, then returns its state. With <paramref name="throughPauses"/> a
    /// manual or drift pause does not end the drive: the canary keeps its traffic, so it is judged on until someone
    /// resumes it (the drive goes on) or it fails (it is aborted).
    /// </summary>
    public async Task<StoredRollout> DriveAsync(StoredRollout stored, RolloutRuntime rt, RolloutLease lease, CancellationToken ct, bool throughPauses = false)
    {
        var throttle = Throttle(stored);
        throttle.Interval = rt.Plan.Policies.StatusInterval;
        try
        {
            try
            {
                stored = await DriveUntilStopAsync(stored, rt, lease, throughPauses, ct).ConfigureAwait(false);
            }
            catch (StableDeploymentMissingException missing)
            {
                stored = await PauseForMissingStableAsync(stored, missing, ct).ConfigureAwait(false);
            }
            stored = await ReturnTrafficWhilePausedAsync(stored, rt, ct).ConfigureAwait(false);
            return await FlushAsync(stored, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose (not a crash): keep the analysis progress held back by the throttle if the cluster takes it.
            if (throttle.Pending is { } p)
            {
                try
                {
                    await store.SaveAsync(p.Stored, p.Status, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is KubernetesApiException or HttpRequestException or OperationCanceledException)
                {
                    // The next driver re-reads the unsaved windows from the metrics.
                }
            }
            throw;
        }
        finally
        {
            _throttles.TryRemove($"{stored.Namespace}/{stored.Name}", out _);
        }
    }

    /// <summary>Writes analysis progress the throttle held back, so what the driver returns is what the cluster has.</summary>
    private async Task<StoredRollout> FlushAsync(StoredRollout stored, CancellationToken ct)
    {
        if (Throttle(stored).Pending is not { } p) return stored;
        return await SaveAsync(p.Stored, p.Status, ct).ConfigureAwait(false);
    }

    /// <summary>The rollout as stored, with the analysis progress this driver has not written yet laid over it.</summary>
    private async Task<StoredRollout> LoadAsync(StoredRollout stored, CancellationToken ct) =>
        Throttle(stored).Overlay(await store.LoadAsync(stored.Namespace, stored.Name, ct).ConfigureAwait(false));

    /// <summary>
    /// When the driver leaves a rollout that paused by itself (too little data, failing metrics), nobody watches the
    /// canary's traffic any more: send it back to stable until someone resumes, unless the spec holds the weight.
    /// A manual pause keeps its weight (a person asked for it); a drift pause too (writing would fight the other writer).
    /// </summary>
    private async Task<StoredRollout> ReturnTrafficWhilePausedAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        if (stored.Status is not { Phase: RolloutPhase.Paused, PauseReason: PauseReason.InsufficientData or PauseReason.MetricErrors, CanaryWeight: > 0, WeightBeforePause: null }
            || rt.Plan.Policies.HoldWeightWhilePaused) return stored;
        var split = await rt.Router.SetCanaryWeightAsync(0, ct).ConfigureAwait(false);
        Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
        var message = $"paused without a driver: traffic returned to stable (canary was at {stored.Status.CanaryWeight:0.###}%; resume restores it)";
        return await SaveAsync(stored, (stored.Status with
        {
            WeightBeforePause = stored.Status.CanaryWeight,
            CanaryWeight = split.CanaryPercent,
            LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, clock.GetUtcNow(), Who),
        }).WithHistory(Entry("holdTraffic", message, split.CanaryPercent)), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Someone deleted the stable Deployment mid-rollout (issue #26 item 9): a pause with that reason, not a failure of
    /// the input. No traffic is written: the canary keeps its share and nothing more, because all of it would promote a
    /// canary its analysis has not passed, and none of it would send everything to pods that do not exist
    /// (docs/design-notes.md). An ended rollout stays ended.
    /// </summary>
    private async Task<StoredRollout> PauseForMissingStableAsync(StoredRollout stored, StableDeploymentMissingException missing, CancellationToken ct)
    {
        var current = await LoadAsync(stored, ct).ConfigureAwait(false);
        if (current.Status.Phase.IsTerminal()) throw missing;
        var canary = current.Status.CanaryWeight;
        var message = $"Deployment {missing.Deployment} (spec.stable.deployment) was deleted mid-rollout: the canary keeps its {canary:0.###}% " +
                      $"and the other {100 - canary:0.###}% has no stable pods to go to; Kubestead does not send all traffic to a canary " +
                      $"its analysis has not passed. Restore Deployment {missing.Deployment}, then resume (or abort, which sends everything to stable)";
        return await PauseAsync(current, PauseReason.StableMissing, message, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A drift pause for an object Kubestead added that is gone while weight still goes there (issue #25 item 4): the
    /// requests on it fail, so traffic goes back to stable first, and resume restores the weight once the object is back.
    /// </summary>
    private Task<StoredRollout> PauseWithTrafficOnStableAsync(StoredRollout stored, RolloutRuntime rt, string text, CancellationToken ct) =>
        ReturnShareThenPauseAsync(stored, rt, $"traffic returned to stable: {text}",
            $"{text}; traffic was sent back to stable, and resume re-creates what is missing and restores the weight", ct);

    /// <summary>Sends the canary's share to stable (recording it for resume), then pauses for drift.</summary>
    private async Task<StoredRollout> ReturnShareThenPauseAsync(StoredRollout stored, RolloutRuntime rt, string historyText, string pauseMessage, CancellationToken ct)
    {
        if (stored.Status.CanaryWeight > 0)
        {
            var split = await rt.Router.SetCanaryWeightAsync(0, ct).ConfigureAwait(false);
            Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
            stored = await SaveAsync(stored, (stored.Status with
            {
                WeightBeforePause = stored.Status.WeightBeforePause ?? stored.Status.CanaryWeight,
                CanaryWeight = split.CanaryPercent,
                LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, clock.GetUtcNow(), Who),
            }).WithHistory(Entry("holdTraffic", historyText, split.CanaryPercent)), ct).ConfigureAwait(false);
        }
        return await PauseAsync(stored, PauseReason.Drift, pauseMessage, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A drift pause for a change to stable's template (a hotfix) (issue #26 item 7): the canary was built from the old
    /// template and lacks the fix, so its share goes back to stable, which has it. The weight is Kubestead's own field, so
    /// this fights no other writer (unlike re-asserting weights someone else changed). Resume rebuilds the canary from the
    /// new template and restarts the steps; a stable changed back restores the weight.
    /// </summary>
    private Task<StoredRollout> PauseForChangedStableAsync(StoredRollout stored, RolloutRuntime rt, string text, CancellationToken ct)
    {
        if (stored.Status.CanaryWeight <= 0) return PauseAsync(stored, PauseReason.Drift, text, ct);
        var returned = $"the canary's {stored.Status.CanaryWeight:0.###}% went back to stable, which has the change the canary lacks";
        return ReturnShareThenPauseAsync(stored, rt, $"{returned} ({text})",
            $"{text}; {returned}: resume rebuilds the canary from the new template and restarts the steps", ct);
    }

    /// <summary>
    /// The header routes that must be in place: those the status records, less the one the current step removes (a driver
    /// that died after removing it and before recording that left it recorded; that absence is its own write, not drift).
    /// </summary>
    private static IReadOnlyCollection<string> ExpectedHeaderRoutes(StoredRollout stored, RolloutRuntime rt) =>
        stored.Status.StepIndex < rt.Plan.Steps.Count && rt.Plan.Steps[stored.Status.StepIndex] is RemoveHeaderRoutePlanStep removing
            ? stored.Status.HeaderRoutes.Where(n => n != removing.RouteName).ToList()
            : stored.Status.HeaderRoutes;

    /// <summary>Puts back what the rollout added (Services, subsets, route parts, its header routes) before a resume after drift.</summary>
    public async Task RepairAddedPartsAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        await rt.Router.PrepareAsync(ct).ConfigureAwait(false);
        foreach (var step in rt.Plan.Steps.OfType<SetHeaderRoutePlanStep>().Where(h => stored.Status.HeaderRoutes.Contains(h.Route.RouteName)))
            await rt.Router.SetHeaderRouteAsync(ToHeaderRoute(step.Route), ct).ConfigureAwait(false);
    }

    /// <summary>Restores the weight an automatic pause took away (see <see cref="ReturnTrafficWhilePausedAsync"/>).</summary>
    public async Task<WrittenSplit?> RestoreWeightAfterPauseAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        if (stored.Status.WeightBeforePause is not { } weight) return null;
        if (rt.MeshProvider != "none") await rt.Workload.ScaleForWeightAsync(weight, ct).ConfigureAwait(false);
        var split = await rt.Router.SetCanaryWeightAsync(weight, ct).ConfigureAwait(false);
        Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
        return new WrittenSplit(split.StablePercent, split.CanaryPercent, clock.GetUtcNow(), Who);
    }

    private async Task<StoredRollout> DriveUntilStopAsync(StoredRollout stored, RolloutRuntime rt, RolloutLease lease, bool throughPauses, CancellationToken ct)
    {
        stored = await EnsurePreparedAsync(stored, rt, ct).ConfigureAwait(false);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            await lease.RenewIfDueAsync(ct).ConfigureAwait(false);
            stored = await LoadAsync(stored, ct).ConfigureAwait(false);
            var now = clock.GetUtcNow();

            if (throughPauses && IsWatchedPause(stored.Status))
            {
                try
                {
                    stored = await JudgeWhilePausedAsync(stored, rt, now, ct).ConfigureAwait(false);
                }
                catch (RolloutStateChangedException e)
                {
                    // A resume, abort or promotion from another process landed while the windows were being judged:
                    // re-read it (the loop's next pass) instead of failing the wait that watches the pause.
                    Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, e.Message));
                }
                continue;
            }

            if (rt.Analysis is { } analysis && analysis.IsActive(stored.Status))
            {
                try
                {
                    stored = await ObserveCanaryReadinessAsync(stored, rt, analysis, now, ct).ConfigureAwait(false);
                    stored = await AnalyseAsync(stored, rt, analysis, now, ct).ConfigureAwait(false);
                }
                catch (RolloutStateChangedException e)
                {
                    // Another process wrote the state (pause, abort, promote) while its windows were judged: re-read and decide again.
                    Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, e.Message));
                    continue;
                }
            }

            if (stored.Status.Phase == RolloutPhase.Progressing && rt.Analysis is { } a
                && a.Plan.ConsecutiveErrorLimit > 0 && stored.Status.ConsecutiveMetricErrors >= a.Plan.ConsecutiveErrorLimit)
            {
                var msg = $"metrics failed {stored.Status.ConsecutiveMetricErrors} times in a row";
                if (rt.Plan.Policies.OnMetricErrors == InconclusivePolicy.Fail)
                    stored = await AbortAsync(stored, rt, msg, asFailure: true, ct).ConfigureAwait(false);
                else
                    return await PauseAsync(stored, PauseReason.MetricErrors, msg, ct).ConfigureAwait(false);
                continue;
            }

            if (stored.Status.Phase == RolloutPhase.Progressing && rt.Analysis is { Plan.InconclusiveWindowLimit: > 0 } limited
                && stored.Status.InconclusiveWindows >= limited.Plan.InconclusiveWindowLimit)
            {
                var msg = $"{stored.Status.InconclusiveWindows} analysis windows in a row without a verdict: the canary sees too little traffic to judge";
                if (rt.Plan.Policies.OnInsufficientData == InconclusivePolicy.Fail)
                {
                    stored = await AbortAsync(stored, rt, msg, asFailure: true, ct).ConfigureAwait(false);
                    continue;
                }
                return await PauseAsync(stored, PauseReason.InsufficientData, msg, ct).ConfigureAwait(false);
            }

            if (stored.Status.Phase == RolloutPhase.Progressing && stored.Status.LastWritten is { } written)
            {
                var drift = await rt.Router.DetectDriftAsync(ToSplit(written), ExpectedHeaderRoutes(stored, rt), ct).ConfigureAwait(false);
                if (drift is not null && await IsOwnInterruptedWriteAsync(stored, rt, ct).ConfigureAwait(false) is { } own)
                {
                    // The route shows the weight of the step being executed: a previous driver wrote it and died before
                    // recording it. That is ours, not drift: record it and go on, with the warm-up that write began.
                    var adopted = stored.Status with
                    {
                        CanaryWeight = own.CanaryPercent,
                        LastWritten = new WrittenSplit(own.StablePercent, own.CanaryPercent, clock.GetUtcNow(), Who),
                    };
                    if (rt.Analysis is { } wa && wa.IsActive(adopted) && wa.WarmsUp(stored.Status.CanaryWeight, own.CanaryPercent))
                        adopted = wa.WeightInEffect(adopted, stored.Status.CanaryWeight, own.CanaryPercent, clock.GetUtcNow(),
                            await rt.Workload.CanaryReadinessAsync(ct).ConfigureAwait(false));
                    stored = await SaveAsync(stored, adopted, ct).ConfigureAwait(false);
                    drift = null;
                }
                if (drift is { TrafficAtRisk: true })
                    return await PauseWithTrafficOnStableAsync(stored, rt, DescribeDrift(drift), ct).ConfigureAwait(false);
                if (drift is not null)
                {
                    var text = DescribeDrift(drift);
                    // Re-asserting weights cannot bring back a removed object; whoever removed it would remove it again.
                    if (rt.Plan.Policies.OnDrift == DriftPolicy.Pause || drift.Fields.Any(f => f.Actual is null && f.Expected == AddedObjectDrift.Present))
                        return await PauseAsync(stored, PauseReason.Drift, text, ct).ConfigureAwait(false);
                    Emit(new WarningEvent(now, stored.Namespace, stored.Name, text + "; re-asserting the weights Kubestead set"));
                    stored = await ApplyWeightAsync(stored, rt, stored.Status.CanaryWeight, advance: false, ct).ConfigureAwait(false);
                    continue;
                }
            }

            if (stored.Status.Phase == RolloutPhase.Progressing && stored.Status.StableTemplate is { } recorded
                && await rt.Workload.StableChangesSinceAsync(recorded, ct).ConfigureAwait(false) is { Count: > 0 } changes)
                return await PauseForChangedStableAsync(stored, rt, new StableTemplateChangedException(stored.Namespace, rt.Workload.StableDeployment, changes).Message, ct)
                    .ConfigureAwait(false);

            // An autoscaler resizes stable between steps; a canary left at its old size would carry its share on too few
            // (or too many) pods (issue #25).
            if (stored.Status.Phase == RolloutPhase.Progressing && rt.MeshProvider != "none" && stored.Status.LastWritten is not null
                && await rt.Workload.FollowStableReplicasAsync(stored.Status.CanaryWeight, ct).ConfigureAwait(false) is { } resize)
                Emit(new VerboseEvent(now, stored.Namespace, stored.Name, resize.Describe()));

            var gate = AnalysisGate.Combine(stored.Status, rt.Analysis is not null);
            var action = RolloutDecider.Decide(rt.Plan, stored.Status, now, gate);
            if (action is StopAction) return stored;
            try
            {
                stored = await PerformAsync(stored, rt, action, now, ct).ConfigureAwait(false);
            }
            catch (RolloutStateChangedException e)
            {
                // Another process wrote the state (pause, abort, promote): re-read it and decide again.
                Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, e.Message));
            }
            if (action is PauseAction && stored.Status.Phase == RolloutPhase.Paused) return stored;
        }
    }

    /// <summary>Pauses a person must end (an approval gate, drift) while the canary keeps its share: worth judging on.</summary>
    internal static bool IsWatchedPause(RolloutStatus s) => s is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.Manual or PauseReason.Drift };

    /// <summary>
    /// One pass of watching a paused rollout (issue #26 item 3): the windows since the last pass are judged as they would
    /// be while progressing, and a Fail aborts at once, so a failing canary at an approval gate does not serve its share
    /// until someone types resume. Otherwise waits for the next window, or a poll for a resume, abort or promotion.
    /// </summary>
    private async Task<StoredRollout> JudgeWhilePausedAsync(StoredRollout stored, RolloutRuntime rt, DateTimeOffset now, CancellationToken ct)
    {
        // An approval gate's timeout is kept by whoever watches the pause (issue #32).
        var gate = stored.Status.StepIndex < rt.Plan.Steps.Count ? rt.Plan.Steps[stored.Status.StepIndex] as ApprovalPlanStep : null;
        var gateSince = stored.Status.StepStartedAt;
        if (gate is not null && gateSince is { } since && RolloutDecider.ApprovalTimedOut(gate, since, now) is { } late && !stored.Status.Message.StartsWith(late, StringComparison.Ordinal))
            return gate.AbortOnTimeout
                ? await AbortAsync(stored, rt, $"step {stored.Status.StepIndex + 1}: {late}", asFailure: false, ct).ConfigureAwait(false)
                : await PauseAsync(stored, PauseReason.Manual, $"{late}: paused; approve to go on, or abort", ct).ConfigureAwait(false);
        if (rt.Analysis is { } analysis && stored.Status.StepIndex >= analysis.Plan.StartingStep && stored.Status.CanaryWeight > 0)
        {
            stored = await AnalyseAsync(stored, rt, analysis, now, ct).ConfigureAwait(false);
            if (AnalysisGate.Combine(stored.Status, true) == GateOutcome.Fail)
            {
                var why = stored.Status.BackgroundVerdicts.FirstOrDefault(v => v.Outcome == VerdictOutcome.Fail) is { } bg
                    ? $"background analysis failed ({bg.Metric})" : "analysis failed";
                return await AbortAsync(stored, rt, $"{why} while paused ({stored.Status.PauseReason}): the canary is worse than its control", asFailure: false, ct)
                    .ConfigureAwait(false);
            }
        }
        var next = now + PollInterval;
        if (rt.Analysis?.NextWindowEnd(stored.Status) is { } windowEnd && windowEnd > now && windowEnd < next) next = windowEnd;
        if (gate?.Timeout is { } limit && gateSince is { } from && from + limit > now && from + limit < next) next = from + limit;
        Emit(new WaitingEvent(now, stored.Namespace, stored.Name, $"paused ({stored.Status.PauseReason}): judging the canary until it is resumed",
            now - stored.Status.UpdatedAt, null));
        await Task.Delay(next - now, clock, ct).ConfigureAwait(false);
        return stored;
    }

    private async Task<StoredRollout> PerformAsync(StoredRollout stored, RolloutRuntime rt, EngineAction action, DateTimeOffset now, CancellationToken ct)
    {
            switch (action)
            {
                case ApplyWeightAction w:
                    EmitStep(stored, rt);
                    if (w.Weight > stored.Status.CanaryWeight)
                    {
                        bool open;
                        (stored, open) = await PassGatesAsync(stored, rt, WebhookGatePoints.PreRollout, w.Weight, ct).ConfigureAwait(false);
                        if (open) (stored, open) = await PassGatesAsync(stored, rt, WebhookGatePoints.ConfirmTrafficIncrease, w.Weight, ct).ConfigureAwait(false);
                        if (!open) break;
                    }
                    stored = await ApplyWeightAsync(stored, rt, w.Weight, advance: true, ct).ConfigureAwait(false);
                    break;
                case StartStepTimerAction:
                    EmitStep(stored, rt);
                    var started = stored.Status with { StepStartedAt = now };
                    if (rt.Analysis is { } analysis && stored.Status.StepIndex < rt.Plan.Steps.Count
                        && rt.Plan.Steps[stored.Status.StepIndex] is AnalysisPlanStep step && analysis.IsActive(stored.Status))
                    {
                        // The last window ends where the step begins; the step's judges then start from nothing.
                        stored = await AnalyseAsync(stored, rt, analysis, now, ct, closePartial: true).ConfigureAwait(false);
                        if (AnalysisGate.Combine(stored.Status, true) == GateOutcome.Fail) break;
                        started = analysis.StartStep(stored.Status, now, step) with { StepStartedAt = now };
                    }
                    stored = await SaveAsync(stored, started, ct).ConfigureAwait(false);
                    break;
                case WaitAction wait:
                    await WaitAsync(stored, rt, wait, now, ct).ConfigureAwait(false);
                    break;
                case AdvanceStepAction adv:
                    stored = await AdvanceAsync(stored, adv.Why, ct).ConfigureAwait(false);
                    break;
                case PauseAction p:
                    stored = await PauseAsync(stored, p.Reason, p.Message, ct).ConfigureAwait(false);
                    break;
                case AbortAction abort:
                    stored = await AbortAsync(stored, rt, abort.Message, abort.AsFailure, ct).ConfigureAwait(false);
                    break;
                case FinishAbortAction:
                    stored = await FinishAbortAsync(stored, rt, ct).ConfigureAwait(false);
                    break;
                case BeginPromotionAction begin:
                    (stored, var promotable) = await PassGatesAsync(stored, rt, WebhookGatePoints.ConfirmPromotion, null, ct).ConfigureAwait(false);
                    if (!promotable) break;
                    stored = await SetPhaseAsync(stored, RolloutPhase.Promoting, null, begin.Why, ct).ConfigureAwait(false);
                    break;
                case PromoteAction:
                    stored = await PromoteAsync(stored, rt, ct).ConfigureAwait(false);
                    break;
                case SetHeaderRouteAction h:
                    EmitStep(stored, rt);
                    // A header route is the canary's first traffic when it comes before any weight.
                    (stored, var routable) = await PassGatesAsync(stored, rt, WebhookGatePoints.PreRollout, null, ct).ConfigureAwait(false);
                    if (!routable) break;
                    await rt.Router.SetHeaderRouteAsync(ToHeaderRoute(h.Route), ct).ConfigureAwait(false);
                    var hint = (rt.Router as IHeaderRouteInstructions)?.HeaderRouteInstructions(ToHeaderRoute(h.Route));
                    stored = await SaveAsync(stored, Advanced(stored.Status, $"header route {h.Route.RouteName} set" + (hint is null ? "" : $"; {hint}")) with
                    {
                        HeaderRoutes = stored.Status.HeaderRoutes.Append(h.Route.RouteName).Distinct().ToList(),
                    }, ct).ConfigureAwait(false);
                    break;
                case RemoveHeaderRouteAction r:
                    EmitStep(stored, rt);
                    await rt.Router.RemoveHeaderRouteAsync(r.RouteName, ct).ConfigureAwait(false);
                    stored = await SaveAsync(stored, Advanced(stored.Status, $"header route {r.RouteName} removed") with
                    {
                        HeaderRoutes = stored.Status.HeaderRoutes.Where(n => n != r.RouteName).ToList(),
                    }, ct).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"unhandled engine action {action}");
            }
            return stored;
    }

    /// <summary>The split of the current setWeight step when the route already shows it (a write whose driver died before recording it).</summary>
    private static async Task<TrafficSplit?> IsOwnInterruptedWriteAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        if (stored.Status.StepIndex >= rt.Plan.Steps.Count || rt.Plan.Steps[stored.Status.StepIndex] is not SetWeightPlanStep step) return null;
        var intended = new TrafficSplit(100 - step.Weight, step.Weight, Array.Empty<BackendWeight>(), "intended by the current step");
        if (await rt.Router.DetectDriftAsync(intended, ExpectedHeaderRoutes(stored, rt), ct).ConfigureAwait(false) is not null) return null;
        return await rt.Router.GetSplitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Creates what the rollout needs (canary Deployment, mesh objects) once; repeating it is harmless.</summary>
    public async Task<StoredRollout> EnsurePreparedAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        if (stored.Status.Prepared || stored.Status.Phase.IsTerminal()) return stored;
        var stableTemplate = stored.Status.StableTemplate ?? await rt.Workload.ReadStableTemplateAsync(ct).ConfigureAwait(false);
        await rt.Workload.EnsureCanaryAsync(ct).ConfigureAwait(false);
        await rt.Router.PrepareAsync(ct).ConfigureAwait(false);
        var status = stored.Status with
        {
            Prepared = true,
            StableTemplate = stableTemplate,
            CanaryDeployment = rt.Workload.CanaryDeployment,
            CanaryDeploymentCreated = rt.Workload.CreatesCanary,
        };
        return await SaveAsync(stored, status.WithHistory(Entry("prepare", $"prepared {rt.MeshProvider} routing; canary Deployment {rt.Workload.CanaryDeployment}")), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Stable changed under a paused rollout and a person resumed it: traffic goes back to stable, the canary is rebuilt
    /// from the new template (so the hotfix is in it) and the steps and analysis start again; nothing of stable is overwritten.
    /// </summary>
    public async Task<StoredRollout> RestartFromChangedStableAsync(StoredRollout stored, RolloutRuntime rt, IReadOnlyList<string> changes, CancellationToken ct)
    {
        var split = await rt.Router.SetCanaryWeightAsync(0, ct).ConfigureAwait(false);
        Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
        await rt.Workload.RebuildCanaryFromStableAsync(ct).ConfigureAwait(false);
        var template = await rt.Workload.ReadStableTemplateAsync(ct).ConfigureAwait(false);
        var message = $"stable changed ({string.Join("; ", changes)}): canary rebuilt from the new template, steps restart";
        var restarted = new RolloutStatus
        {
            Phase = RolloutPhase.Progressing,
            Message = message,
            Prepared = true,
            CanaryDeployment = stored.Status.CanaryDeployment,
            CanaryDeploymentCreated = stored.Status.CanaryDeploymentCreated,
            StableTemplate = template,
            LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, clock.GetUtcNow(), Who),
            StartedAt = stored.Status.StartedAt,
            History = stored.Status.History,
            Timeline = stored.Status.Timeline, // the report shows the analysis before the restart too
        };
        return await SaveAsync(stored, restarted.WithHistory(Entry("restart", message, 0)), ct).ConfigureAwait(false);
    }

    /// <summary>Rolls back: records the intent, sends all traffic to stable in one write, then cleans up.</summary>
    public Task<StoredRollout> AbortAsync(StoredRollout stored, RolloutRuntime rt, string message, bool asFailure, CancellationToken ct) =>
        AbortAsync(stored, rt, message, asFailure, deferCanaryRemoval: false, ct);

    /// <summary>
    /// Rolls back as <see cref="AbortAsync(StoredRollout, RolloutRuntime, string, bool, CancellationToken)"/>; with
    /// <paramref name="deferCanaryRemoval"/> the canary kept for scaleDownDelay is left to whoever comes next (see
    /// <see cref="FinishAbortAsync(StoredRollout, RolloutRuntime, bool, CancellationToken)"/>).
    /// </summary>
    public async Task<StoredRollout> AbortAsync(StoredRollout stored, RolloutRuntime rt, string message, bool asFailure, bool deferCanaryRemoval, CancellationToken ct)
    {
        var phase = asFailure ? RolloutPhase.Failed : RolloutPhase.Aborted;
        stored = await SaveAsync(stored, (stored.Status with
        {
            Phase = phase,
            PauseReason = null,
            Message = message,
            CleanupDone = false,
            FinishedAt = clock.GetUtcNow(),
        }).WithHistory(Entry("abort", message)), ct).ConfigureAwait(false);
        Emit(new PhaseChangedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, phase, null, message));
        return await FinishAbortAsync(stored, rt, deferCanaryRemoval, ct).ConfigureAwait(false);
    }

    public Task<StoredRollout> FinishAbortAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct) =>
        FinishAbortAsync(stored, rt, deferCanaryRemoval: false, ct);

    /// <summary>
    /// Traffic to stable, routes cleaned, then the canary removed once scaleDownDelay has passed. With
    /// <paramref name="deferCanaryRemoval"/> (an `abort` that was not asked to wait, issue #26 item 8) a delay still
    /// running is recorded instead of waited: the rollout is returned with its clean-up pending and the removal due time,
    /// and the next start, resume, wait, abort or controller that drives it removes the canary when that time comes.
    /// </summary>
    public async Task<StoredRollout> FinishAbortAsync(StoredRollout stored, RolloutRuntime rt, bool deferCanaryRemoval, CancellationToken ct)
    {
        if (!stored.Status.CleanupStarted)
        {
            // A route object that never existed (a start that failed early) has no traffic to take back.
            var back = await RolloutCleanup.ReturnTrafficToStableAsync(rt, ct).ConfigureAwait(false);
            if (back is { Written: true, Split: var split })
                Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
            var status = stored.Status with
            {
                CanaryWeight = 0,
                LastWritten = back is { Split: var s } ? new WrittenSplit(s.StablePercent, s.CanaryPercent, clock.GetUtcNow(), Who) : stored.Status.LastWritten,
                CleanupStarted = true,
            };
            // Recorded only once the write succeeded: the report draws the weight from the history, and an entry from the
            // abort's time alone would show traffic on stable that a failed write never moved.
            if (back is { Written: true, Split: var moved })
                status = status.WithHistory(Entry(RolloutHistoryEntry.TrafficToStableKind,
                    $"traffic to stable on {moved.Source}: stable {moved.StablePercent:0.###}%, canary {moved.CanaryPercent:0.###}%", moved.CanaryPercent));
            stored = await SaveAsync(stored, status, ct).ConfigureAwait(false);
        }
        if (deferCanaryRemoval)
        {
            stored = await CleanupRoutesAsync(stored, rt, ct).ConfigureAwait(false);
            (stored, var kept) = await RecordScaleDownDueAsync(stored, rt, ct).ConfigureAwait(false);
            if (kept is { } due && due > clock.GetUtcNow())
            {
                var left = $"traffic on stable; canary {rt.Workload.CanaryDeployment} kept until {due:u} (scaleDownDelay): " +
                           "the next start, resume, wait, abort or controller removes it then";
                Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, left));
                return stored.Status.HeaderRoutes.Count == 0 ? stored
                    : await SaveAsync(stored, stored.Status with { HeaderRoutes = Array.Empty<string>() }, ct).ConfigureAwait(false);
            }
        }
        stored = await CleanupAsync(stored, rt, ct).ConfigureAwait(false);
        var done = (stored.Status with { CleanupDone = true, HeaderRoutes = Array.Empty<string>() })
            .WithHistory(Entry("cleanup", "traffic on stable; canary objects removed", 0));
        return await SaveAsync(stored, await PostRolloutAsync(stored, rt, done, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
    }

    private async Task<StoredRollout> PromoteAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        if (rt.Plan.Policies.Promotion == PromotionMode.WeightOnly)
        {
            stored = await ApplyWeightAsync(stored, rt, 100, advance: false, ct).ConfigureAwait(false);
            return await CompleteAsync(stored, rt,
                "promoted in weight-only mode: the canary takes all traffic; update the stable Deployment in your pipeline, then remove the canary", ct).ConfigureAwait(false);
        }
        if (!stored.Status.CleanupStarted)
        {
            Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, $"updating Deployment {rt.Workload.StableDeployment} to the canary's version"));
            try
            {
                await rt.Workload.PromoteStableAsync(stored.Status.StableTemplate, ct).ConfigureAwait(false);
            }
            catch (StableTemplateChangedException e)
            {
                // A hotfix on stable wins over the canary built from the old template: stop before overwriting it.
                return await PauseForChangedStableAsync(stored, rt, e.Message, ct).ConfigureAwait(false);
            }
            var split = await rt.Router.SetCanaryWeightAsync(0, ct).ConfigureAwait(false);
            Emit(new WeightAppliedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
            stored = await SaveAsync(stored, stored.Status with
            {
                CanaryWeight = 0,
                LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, clock.GetUtcNow(), Who),
                CleanupStarted = true,
            }, ct).ConfigureAwait(false);
        }
        stored = await CleanupAsync(stored, rt, ct).ConfigureAwait(false);
        return await CompleteAsync(stored, rt, $"promoted: {rt.Workload.StableDeployment} runs the canary's version and takes all traffic", ct).ConfigureAwait(false);
    }

    private async Task<StoredRollout> CompleteAsync(StoredRollout stored, RolloutRuntime rt, string message, CancellationToken ct)
    {
        var completed = stored.Status with
        {
            Phase = RolloutPhase.Completed,
            PauseReason = null,
            Message = message,
            CleanupDone = true,
            HeaderRoutes = Array.Empty<string>(),
            FinishedAt = clock.GetUtcNow(),
        };
        completed = await PostRolloutAsync(stored, rt, completed, ct).ConfigureAwait(false);
        stored = await SaveAsync(stored, completed.WithHistory(Entry("complete", message)), ct).ConfigureAwait(false);
        Emit(new PhaseChangedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, RolloutPhase.Completed, null, message));
        return stored;
    }

    private async Task<StoredRollout> CleanupAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        stored = await CleanupRoutesAsync(stored, rt, ct).ConfigureAwait(false);
        stored = await WaitScaleDownDelayAsync(stored, rt, ct).ConfigureAwait(false);
        await RolloutCleanup.SkipMissingAsync(() => rt.Workload.RetireCanaryAsync(ct)).ConfigureAwait(false);
        return stored;
    }

    private static async Task<StoredRollout> CleanupRoutesAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        // Objects that are already gone are clean: clean-up must finish from whatever a failure or crash left.
        foreach (var route in stored.Status.HeaderRoutes)
            await RolloutCleanup.SkipMissingAsync(() => rt.Router.RemoveHeaderRouteAsync(route, ct)).ConfigureAwait(false);
        await RolloutCleanup.SkipMissingAsync(() => rt.Router.CleanupAsync(ct)).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// Traffic has left the canary, but sidecars and keep-alive connections still send it requests for a while: keep its
    /// pods for scaleDownDelay. The due time is recorded first, so a driver that takes over waits only the rest.
    /// </summary>
    private async Task<StoredRollout> WaitScaleDownDelayAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        (stored, var kept) = await RecordScaleDownDueAsync(stored, rt, ct).ConfigureAwait(false);
        if (kept is not { } due) return stored;
        var now = clock.GetUtcNow();
        if (due > now)
        {
            Emit(new WaitingEvent(now, stored.Namespace, stored.Name, $"scaleDownDelay: keeping the canary until {due:u}", TimeSpan.Zero, due - now));
            await Task.Delay(due - now, clock, ct).ConfigureAwait(false);
        }
        return stored;
    }

    /// <summary>
    /// Records when the canary may go (once, so whoever finishes waits only the rest); null when there is nothing to keep
    /// (no delay, or a canary without pods).
    /// </summary>
    private async Task<(StoredRollout Stored, DateTimeOffset? Due)> RecordScaleDownDueAsync(StoredRollout stored, RolloutRuntime rt, CancellationToken ct)
    {
        var delay = rt.Plan.Policies.ScaleDownDelay ?? RolloutPolicies.DefaultScaleDownDelay;
        if (delay <= TimeSpan.Zero || !await rt.Workload.HasCanaryPodsToRetireAsync(ct).ConfigureAwait(false)) return (stored, null);
        if (stored.Status.CanaryRemovalDueAt is { } recorded) return (stored, recorded);
        var due = clock.GetUtcNow() + delay;
        return (await SaveAsync(stored, (stored.Status with { CanaryRemovalDueAt = due })
            .WithHistory(Entry("scaleDownDelay", $"canary {rt.Workload.CanaryDeployment} kept until {due:u} while in-flight requests drain")), ct).ConfigureAwait(false), due);
    }

    /// <summary>
    /// Moves the canary to <paramref name="weight"/>. A canary whose pods are not ready within the progress deadline has
    /// failed at any step and with any mesh (issue #26 item 6): the rollout is aborted, traffic returns to stable and the
    /// canary is removed, and the message names the Deployment and its pods' reason.
    /// </summary>
    private async Task<StoredRollout> ApplyWeightAsync(StoredRollout stored, RolloutRuntime rt, double weight, bool advance, CancellationToken ct)
    {
        CanaryNotReadyException notReady;
        try
        {
            return await ApplyWeightOnceAsync(stored, rt, weight, advance, ct).ConfigureAwait(false);
        }
        catch (CanaryNotReadyException e)
        {
            notReady = e;
        }
        catch (KubesteadException e) when (e.ErrorId == ReplicaRatioRouter.PodsNotReadyErrorId)
        {
            // Without a mesh the router sizes the Deployments and waits for their pods itself.
            notReady = await rt.Workload.CanaryNotReadyAsync(ct).ConfigureAwait(false);
        }
        var current = await LoadAsync(stored, ct).ConfigureAwait(false);
        if (current.Status.Phase.IsTerminal()) return current;
        return await AbortAsync(current, rt, $"the canary failed: {notReady.Message}; traffic returned to stable", asFailure: false, ct).ConfigureAwait(false);
    }

    private async Task<StoredRollout> ApplyWeightOnceAsync(StoredRollout stored, RolloutRuntime rt, double weight, bool advance, CancellationToken ct)
    {
        if (rt.MeshProvider != "none") await rt.Workload.ScaleForWeightAsync(weight, ct).ConfigureAwait(false);
        // Re-read just before the route write so an abort or pause from another process wins the race.
        var fresh = await LoadAsync(stored, ct).ConfigureAwait(false);
        if (fresh.Status.Phase != RolloutPhase.Progressing && fresh.Status.Phase != RolloutPhase.Promoting) return fresh;
        var analysis = rt.Analysis is { } a && a.IsActive(fresh.Status) ? a : null;
        // The window in progress ends at the weight write, so no window mixes two weights (its expected share would be wrong).
        if (analysis is not null)
        {
            fresh = await AnalyseAsync(fresh, rt, analysis, clock.GetUtcNow(), ct, closePartial: true).ConfigureAwait(false);
            // The closing window failed the canary: that verdict is saved; the loop aborts instead of moving traffic.
            if (AnalysisGate.Combine(fresh.Status, true) == GateOutcome.Fail) return fresh;
        }
        var previous = fresh.Status.CanaryWeight;
        var split = await rt.Router.SetCanaryWeightAsync(weight, ct).ConfigureAwait(false);
        var inEffect = clock.GetUtcNow();
        Emit(new WeightAppliedEvent(inEffect, stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, split.Source));
        var status = fresh.Status with
        {
            CanaryWeight = split.CanaryPercent,
            LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, inEffect, Who),
        };
        // The next window starts when the new weight is in effect (the write has returned: for no mesh, the pods are ready).
        // A warm-up it begins counts from the canary's pods being ready, which a replaced pod can delay past the write.
        if (analysis is not null)
            status = analysis.WeightInEffect(status, previous, split.CanaryPercent, inEffect,
                analysis.WarmsUp(previous, split.CanaryPercent) ? await rt.Workload.CanaryReadinessAsync(ct).ConfigureAwait(false) : null);
        if (status.WarmupAwaitingReady && !fresh.Status.WarmupAwaitingReady)
            Emit(new VerboseEvent(inEffect, stored.Namespace, stored.Name, "the canary's pods are not all ready: the warm-up starts when they are (its windows until then are not judged)"));
        var timedNext = false;
        if (advance)
        {
            status = Advanced(status, $"weight {split.CanaryPercent:0.###}%");
            (status, timedNext) = StartTimedStep(status, rt, inEffect);
        }
        var saved = await SaveAsync(fresh, status.WithHistory(Entry("setWeight",
            $"stable {split.StablePercent:0.###}% / canary {split.CanaryPercent:0.###}%", split.CanaryPercent)), ct).ConfigureAwait(false);
        if (timedNext) EmitStep(saved, rt);
        return saved;
    }

    /// <summary>
    /// A pause or analysis step that follows a weight write starts in the same state write (its clock starts when the
    /// weight is in effect; an analysis step's judges start from nothing), instead of in a write of its own.
    /// </summary>
    private static (RolloutStatus Status, bool Started) StartTimedStep(RolloutStatus status, RolloutRuntime rt, DateTimeOffset now)
    {
        if (status.StepIndex >= rt.Plan.Steps.Count) return (status, false);
        switch (rt.Plan.Steps[status.StepIndex])
        {
            case PausePlanStep { Duration: not null }:
                return (status with { StepStartedAt = now }, true);
            case AnalysisPlanStep step:
                var started = rt.Analysis is { } a && a.IsActive(status) ? a.StartStep(status, now, step) : status;
                return (started with { StepStartedAt = now }, true);
            default:
                return (status, false);
        }
    }

    /// <summary>
    /// With a warm-up configured and traffic on the canary, reads the canary's pods once per pass: a warm-up waiting for
    /// them starts when they are ready, and pods that drop and come back restart it (<see cref="WarmupClock"/>).
    /// </summary>
    private async Task<StoredRollout> ObserveCanaryReadinessAsync(StoredRollout stored, RolloutRuntime rt, AnalysisRunner analysis, DateTimeOffset now, CancellationToken ct)
    {
        if (analysis.Plan.Warmup <= TimeSpan.Zero || stored.Status is not { Phase: RolloutPhase.Progressing, CanaryWeight: > 0 }) return stored;
        var readiness = await rt.Workload.CanaryReadinessAsync(ct).ConfigureAwait(false);
        var seen = WarmupClock.Observe(stored.Status, analysis.Plan.Warmup, rt.Workload.ReadyTimeout, now, readiness);
        if (seen.Status == stored.Status) return stored;
        if (!stored.Status.WarmupAwaitingReady && seen.Status.WarmupFrom is not null && seen.Status.WarmupFrom != stored.Status.WarmupFrom)
        {
            // Returning pods restart the warm-up now: the windows before it, while pods were missing (after a driver's
            // absence, minutes of them), are analysed first, so only traffic from now on counts as warm-up. (A warm-up
            // that waited for the pods needs no such step: every window until they are ready is warm-up.)
            stored = await AnalyseAsync(stored, rt, analysis, now, ct, closePartial: true).ConfigureAwait(false);
            if (AnalysisGate.Combine(stored.Status, true) == GateOutcome.Fail) return stored;
            seen = WarmupClock.Observe(stored.Status, analysis.Plan.Warmup, rt.Workload.ReadyTimeout, now, readiness);
        }
        if (seen.Message is { } text)
            Emit(seen.Warning ? new WarningEvent(now, stored.Namespace, stored.Name, text) : new VerboseEvent(now, stored.Namespace, stored.Name, text));
        var status = seen.Message is null ? seen.Status : seen.Status.WithHistory(Entry("warmup", seen.Message, seen.Status.CanaryWeight));
        // When the warm-up starts is written at once (a driver that takes over continues it); a pending warm-up's
        // extension is not: the next driver sees the pods missing and extends it from its own clock.
        return seen.MustWrite ? await SaveAsync(stored, status, ct).ConfigureAwait(false) : Throttle(stored).Hold(stored, status);
    }

    private async Task<StoredRollout> AnalyseAsync(StoredRollout stored, RolloutRuntime rt, AnalysisRunner analysis, DateTimeOffset now, CancellationToken ct,
        bool closePartial = false)
    {
        var result = await analysis.CatchUpAsync(stored.Status, now, ct, closePartial).ConfigureAwait(false);
        var status = result.Status;
        foreach (var n in result.Notes)
            Emit(n.IsWarning ? new WarningEvent(now, stored.Namespace, stored.Name, n.Text) : new VerboseEvent(now, stored.Namespace, stored.Name, n.Text));
        if (status == stored.Status && result.NewVerdicts.Count == 0 && result.WarmupWindows.Count == 0) return stored;
        foreach (var w in result.WarmupWindows)
            Emit(new WarmupWindowEvent(now, stored.Namespace, stored.Name, w.Start, w.End, w.WarmupUntil));
        foreach (var v in result.NewVerdicts)
            Emit(new VerdictEvent(now, stored.Namespace, stored.Name, v));
        foreach (var v in result.NewBackgroundVerdicts)
            Emit(new BackgroundVerdictEvent(now, stored.Namespace, stored.Name, v));
        // A changed combined verdict is what the state machine acts on: it is written before anything acts on it.
        var decisive = AnalysisGate.Combine(status, true) != AnalysisGate.Combine(stored.Status, true);
        // A window closed at a step or weight change rides on that change's own (forced) write.
        if (closePartial && !decisive) return stored with { Status = status };
        // A verdict whose consequence begins with a state write (advance, pause, abort, promotion) rides on that write:
        // it is still in the cluster before anything acts on it. Any other changed verdict is written now. Progress
        // alone also rides on the next action's write when one follows at once.
        var next = RolloutDecider.Decide(rt.Plan, status, now, AnalysisGate.Combine(status, true));
        var writesFirst = next is AdvanceStepAction or PauseAction or AbortAction or BeginPromotionAction or StartStepTimerAction;
        var writesSoon = next is ApplyWeightAction or SetHeaderRouteAction or RemoveHeaderRouteAction;
        if (!closePartial && (writesFirst || (!decisive && writesSoon)))
            return Throttle(stored).Hold(stored, status with { UpdatedAt = clock.GetUtcNow() });
        return await SaveAsync(stored, status, ct, force: decisive).ConfigureAwait(false);
    }

    private async Task WaitAsync(StoredRollout stored, RolloutRuntime rt, WaitAction wait, DateTimeOffset now, CancellationToken ct)
    {
        var next = now + PollInterval;
        if (wait.Until is { } until && until < next) next = until;
        if (rt.Analysis?.NextWindowEnd(stored.Status) is { } windowEnd && windowEnd > now && windowEnd < next) next = windowEnd;
        var started = stored.Status.StepStartedAt ?? now;
        var requests = AnalysisProgress.For(rt, stored.Status);
        Emit(new WaitingEvent(now, stored.Namespace, stored.Name, wait.Activity, now - started, wait.Until is { } u ? u - now : null,
            requests?.Seen, requests?.Needed));
        var delay = next - now;
        if (delay > TimeSpan.Zero) await Task.Delay(delay, clock, ct).ConfigureAwait(false);
    }

    private async Task<StoredRollout> AdvanceAsync(StoredRollout stored, string why, CancellationToken ct) =>
        await SaveAsync(stored, Advanced(stored.Status, why), ct).ConfigureAwait(false);

    private RolloutStatus Advanced(RolloutStatus s, string why) =>
        (s with { StepIndex = s.StepIndex + 1, StepStartedAt = null, Message = why })
        .WithHistory(Entry("step", $"step {s.StepIndex + 1} done: {why}", s.CanaryWeight));

    public async Task<StoredRollout> PauseAsync(StoredRollout stored, PauseReason reason, string message, CancellationToken ct)
    {
        var saved = await SaveAsync(stored, stored.Status.Paused(reason, message).WithHistory(Entry("paused", message)), ct).ConfigureAwait(false);
        Emit(new PhaseChangedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, RolloutPhase.Paused, reason, message));
        if (reason != PauseReason.Manual)
            Emit(new WarningEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, $"paused ({reason}): {message}"));
        return saved;
    }

    private async Task<StoredRollout> SetPhaseAsync(StoredRollout stored, RolloutPhase phase, PauseReason? reason, string message, CancellationToken ct)
    {
        var saved = await SaveAsync(stored, (stored.Status with { Phase = phase, PauseReason = reason, Message = message })
            .WithHistory(Entry(phase.ToString().ToLowerInvariant(), message)), ct).ConfigureAwait(false);
        Emit(new PhaseChangedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, phase, reason, message));
        return saved;
    }

    /// <summary>
    /// Every state write of the engine goes through here. <paramref name="force"/> is false only for analysis progress
    /// without a changed verdict, which <see cref="StatusWriteThrottle"/> writes at most once per statusInterval.
    /// </summary>
    private async Task<StoredRollout> SaveAsync(StoredRollout stored, RolloutStatus status, CancellationToken ct, bool force = true)
    {
        var throttle = Throttle(stored);
        status = status with { UpdatedAt = clock.GetUtcNow() };
        if (!throttle.ShouldWrite(force)) return throttle.Hold(stored, status);
        try
        {
            var saved = await store.SaveAsync(stored, status, ct).ConfigureAwait(false);
            throttle.Written();
            return saved;
        }
        catch (KubernetesApiException e) when (e.IsConflict || e.IsInvalid)
        {
            throw new RolloutStateChangedException(stored.Namespace, stored.Name);
        }
    }

    private RolloutHistoryEntry Entry(string kind, string message, double? weight = null) =>
        new(clock.GetUtcNow(), Who, kind, message, weight);

    private void EmitStep(StoredRollout stored, RolloutRuntime rt)
    {
        var i = stored.Status.StepIndex;
        if (i < rt.Plan.Steps.Count)
            Emit(new StepStartedEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, i, rt.Plan.Steps.Count, rt.Plan.Steps[i].Describe()));
    }

    private void Emit(RolloutEvent e)
    {
        try
        {
            observer.OnEvent(e);
        }
        catch (Exception)
        {
            // An observer must not break a rollout; its own failures are its business.
        }
    }

    /// <summary>
    /// Calls the plan's gates at <paramref name="point"/> that have not passed in this run, in spec order. Each pass is
    /// recorded (its idempotency key and a history line) before the next gate or the gated write, so a driver that dies
    /// during a call leaves it unpassed and the next driver calls it again with the same key. The first failure pauses
    /// (resume calls it again) or aborts the rollout, as the gate says, and the gated write does not happen.
    /// </summary>
    private async Task<(StoredRollout Stored, bool Open)> PassGatesAsync(StoredRollout stored, RolloutRuntime rt, string point, double? nextWeight, CancellationToken ct)
    {
        var context = GateContext(stored, rt, stored.Status.Phase.ToString()) with { NextCanaryPercent = nextWeight };
        foreach (var gate in rt.Plan.Webhooks.Where(g => g.Point == point))
        {
            var key = context.IdempotencyKey(gate);
            if (stored.Status.PassedGates.Contains(key)) continue;
            var outcome = await CallGateAsync(gate, context, ct).ConfigureAwait(false);
            if (outcome.Passed)
            {
                Emit(new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, outcome.Detail));
                stored = await SaveAsync(stored, (stored.Status with { PassedGates = stored.Status.PassedGates.Append(key).ToList() })
                    .WithHistory(Entry("webhook", outcome.Detail, stored.Status.CanaryWeight)), ct).ConfigureAwait(false);
                continue;
            }
            stored = gate.AbortOnFailure
                ? await AbortAsync(stored, rt, $"{outcome.Detail}; the rollout was rolled back", asFailure: true, ct).ConfigureAwait(false)
                : await PauseAsync(stored, PauseReason.Webhook, $"{outcome.Detail}; resume calls it again", ct).ConfigureAwait(false);
            return (stored, false);
        }
        return (stored, true);
    }

    /// <summary>
    /// The postRollout gates, called once the promotion or rollback is done and before it is recorded finished (so a
    /// driver that dies during a call leaves the finish to a successor, which calls again with the same key). They cannot
    /// undo anything: each outcome becomes a history line of <paramref name="finished"/>, and a failure a warning.
    /// </summary>
    private async Task<RolloutStatus> PostRolloutAsync(StoredRollout stored, RolloutRuntime rt, RolloutStatus finished, CancellationToken ct)
    {
        var context = GateContext(stored, rt, finished.Phase.ToString()) with { StepNumber = null, StepCount = null, Step = null };
        foreach (var gate in rt.Plan.Webhooks.Where(g => g.Point == WebhookGatePoints.PostRollout))
        {
            var outcome = await CallGateAsync(gate, context, ct).ConfigureAwait(false);
            Emit(outcome.Passed
                ? new VerboseEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, outcome.Detail)
                : new WarningEvent(clock.GetUtcNow(), stored.Namespace, stored.Name, outcome.Detail));
            finished = finished.WithHistory(Entry("webhook", outcome.Detail, finished.CanaryWeight));
        }
        return finished;
    }

    private async Task<WebhookGateOutcome> CallGateAsync(WebhookGateSpec gate, WebhookGateContext context, CancellationToken ct) =>
        Gates is { } caller
            ? await caller.CallAsync(gate, context, ct).ConfigureAwait(false)
            : new WebhookGateOutcome(false, $"webhook {gate.Name} ({gate.Point}) failed: this host was started without a webhook caller");

    private static WebhookGateContext GateContext(StoredRollout stored, RolloutRuntime rt, string phase)
    {
        var i = stored.Status.StepIndex;
        var count = rt.Plan.Steps.Count;
        return new WebhookGateContext(stored.Namespace, stored.Name, stored.Status.StartedAt.ToUnixTimeMilliseconds(), phase, stored.Status.CanaryWeight)
        {
            StepNumber = i < count ? i + 1 : null,
            StepCount = count,
            Step = i < count ? rt.Plan.Steps[i].Describe() : null,
        };
    }

    internal static TrafficSplit ToSplit(WrittenSplit w) =>
        new(w.StablePercent, w.CanaryPercent, Array.Empty<BackendWeight>(), "last written by Kubestead");

    internal static HeaderRoute ToHeaderRoute(HeaderRouteRequest r) => r.Cookie is { } cookie
        ? new HeaderRoute(r.RouteName, [], cookie)
        : new(r.RouteName, [
        new HeaderMatch(r.HeaderName, r.HeaderValue, r.MatchType switch
        {
            HeaderMatchType.Prefix => HeaderMatchKind.Prefix,
            HeaderMatchType.Regex => HeaderMatchKind.Regex,
            _ => HeaderMatchKind.Exact,
        }),
    ]);

    internal static string DescribeDrift(DriftReport drift)
    {
        var fields = string.Join("; ", drift.Fields.Select(f => $"{f.Path} is {f.Actual ?? "(absent)"}, Kubestead set {f.Expected ?? "(absent)"}"));
        var gitops = drift.GitOpsController is { } g ? $" ({g} manages this object: configure it to ignore these fields, see Get-KubesteadGitOpsConfig)" : "";
        return $"{drift.Target} was changed by someone else: {fields}{gitops}";
    }
}
