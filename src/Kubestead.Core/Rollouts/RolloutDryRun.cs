using Kubestead.Kubernetes;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts;

/// <summary>
/// -WhatIf and --dry-run: every write an operation would make, in words (and bodies where they are built), made from
/// reads only. It follows the same decisions the operation itself takes (start's re-run decision and preflight), so
/// what it lists is what would happen; it never writes.
/// </summary>
public sealed class RolloutDryRun(IKubernetesApi api, RolloutStateStore store, RuntimeFactory runtimes, StartRequestReader reader, StartPreflight preflight,
    TimeProvider clock, DriverIdentity driver)
{
    public async Task<IReadOnlyList<PlannedChange>> PlanAsync(PlannedOperation operation, CancellationToken ct)
    {
        switch (operation)
        {
            case StartOperation start:
            {
                var (spec, _) = await reader.ReadAsync(start.Request, ct).ConfigureAwait(false);
                // A detached start is refused without a live controller before anything else, as the start itself is.
                if (start.Request.Detach)
                    await Kubestead.Controller.ControllerPresence.RequireAsync(api, clock, start.Request.ControllerNamespace, spec.Namespace, ct).ConfigureAwait(false);
                var runtime = runtimes.Create(spec);
                var ns = spec.Namespace;
                var rollout = $"rollout {spec.Name} in namespace {ns}";
                // The plan follows start's own re-run decision: attach, nothing to do, replace, or a refusal (thrown).
                var running = await store.TryLoadAsync(ns, spec.Name, ct).ConfigureAwait(false);
                // An ended rollout's clean-up left pending (an abort that did not wait) is finished by the start itself first.
                if (running is { Status.CleanupDone: false } && running.Status.Phase.IsTerminal())
                    return [new(rollout, "cleanup", $"finish the clean-up the earlier rollout ({running.Status.Phase}) left pending: " +
                                (running.Status.CanaryRemovalDueAt is { } due ? $"wait until {due:u} (scaleDownDelay), then remove its canary" : "remove its canary") +
                                " under its Lease", null),
                        new(rollout, "start", "then start this version (its writes are checked and listed by a dry run once the clean-up is done)", null)];
                switch (await StartRerun.DecideAsync(spec, runtime, running, start.Request.Replace, ct).ConfigureAwait(false))
                {
                    case RerunDecision.Attach:
                        return [new(rollout, "attach", $"the same version is already {running!.Status.Phase}: drive it on as Wait-KubesteadRollout does; start itself writes nothing", null)];
                    case RerunDecision.AlreadyAtVersion:
                        return [new(rollout, "none", $"already at this version: Deployment {spec.StableDeployment} runs the canary's version; nothing is written", null)];
                    case RerunDecision.ReplaceRunning:
                        return [new(rollout, "abort", $"the running rollout of another version ({running!.Status.Phase}): all traffic to stable, its objects removed", null),
                            new(rollout, "start", "then start this version (its writes are checked and listed by a dry run once the old one is gone)", null)];
                }
                await preflight.RunOrThrowAsync(spec, runtime, ct).ConfigureAwait(false);
                var changes = new List<PlannedChange>();
                // Every write start makes, including the ones that touch what an earlier rollout left.
                if (await store.TryLoadAsync(ns, spec.Name, ct).ConfigureAwait(false) is { } previous)
                    changes.Add(new($"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {ns}", "delete",
                        $"the previous rollout's record and its history (phase {previous.Status.Phase}, started {previous.Status.StartedAt:u})", null));
                changes.Add(new($"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {ns}", "create", "record the rollout's spec and status", null));
                var leaseExists = true;
                try
                {
                    await api.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(spec.Name), ct).ConfigureAwait(false);
                }
                catch (KubernetesApiException e) when (e.IsNotFound)
                {
                    leaseExists = false;
                }
                changes.Add(new($"leases.coordination.k8s.io/{RolloutLease.ObjectName(spec.Name)} in namespace {ns}", leaseExists ? "update" : "create",
                    leaseExists ? "take over the expired lease of the previous driver, hold it while driving, release it at the end" : "hold the rollout for this driver, release it at the end", null));
                if (await runtime.Workload.BuildCanaryAsync(ct).ConfigureAwait(false) is { } canary)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.CanaryDeployment} in namespace {ns}", "create",
                        CanaryChangeText.Describe(spec.Canary, await runtime.Workload.DescribeCanaryChangeAsync(canary, ct).ConfigureAwait(false)),
                        canary.ToJsonString()));
                if (await runtime.Workload.BuildBaselineAsync(ct).ConfigureAwait(false) is { } baselineDeployment)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.BaselineDeployment} in namespace {ns}", "create",
                        $"the baseline: stable's pod template and image with {spec.VersionLabel}=baseline, sized like the canary and given the canary's share; removed at promotion and abort",
                        baselineDeployment.ToJsonString()));
                var baselineService = RuntimeFactory.BaselineServiceName(spec);
                var baselinePrepare = !spec.CreateBaseline ? "" : spec.MeshProvider switch
                {
                    MeshProviders.Istio => $"; add subset 'baseline' ({spec.VersionLabel}=baseline) to DestinationRule {spec.Istio!.DestinationRule} and a destination to it at weight 0 in the managed route",
                    MeshProviders.Linkerd => $"; create Service {baselineService} (the baseline pods) and add its backendRef at weight 0",
                    MeshProviders.Smi => $"; create Service {baselineService} (the baseline pods) and add its backend at weight 0",
                    _ => "; the Service spreads traffic over the baseline pods as well",
                };
                changes.Add(new PlannedChange($"{spec.MeshProvider} routing for service {spec.Service} in namespace {ns}", "prepare",
                    spec.MeshProvider switch
                    {
                        MeshProviders.Istio => "annotate the VirtualService with the rollout and the fields Kubestead owns",
                        MeshProviders.Linkerd => $"create Service {spec.Linkerd!.CanaryService} and the HTTPRoute (or add the canary backendRef) when absent",
                        MeshProviders.Smi => $"create Service {spec.Smi!.CanaryService} and the TrafficSplit (or add the canary backend) when absent",
                        MeshProviders.Nginx => $"create Service {spec.Nginx!.CanaryService} and the canary Ingress {spec.Nginx.CanaryIngress ?? spec.Nginx.Ingress + "-canary"} " +
                                               $"from Ingress {spec.Nginx.Ingress} at canary-weight 0 when absent (the stable Ingress is never written)",
                        MeshProviders.Linkerd1 => $"create Service {spec.Linkerd1!.CanaryService} when absent; append the dentry '{spec.Linkerd1.Prefix} => 100 * {spec.Linkerd1.StableDestination} & 0 * {spec.Linkerd1.CanaryDestination}' to the dtab '{spec.Linkerd1.DtabNamespace}' of namerd at {spec.Linkerd1.Namerd} when absent (compare-and-set)",
                        _ => "remember stable's replica count on the canary Deployment",
                    } + baselinePrepare, null));
                var stableReplicas = spec.CreateBaseline && spec.MeshProvider == MeshProviders.None
                    ? (await api.GetAsync(ResourceType.Deployment, ns, spec.StableDeployment, ct).ConfigureAwait(false))["spec"]?["replicas"]?.GetValue<int>() ?? 1
                    : 0;
                foreach (var (step, i) in runtime.Plan.Steps.Select((s, i) => (s, i)))
                    changes.Add(new PlannedChange($"rollout {spec.Name}", "step", $"step {i + 1}: {step.Describe()}{StepWrite(spec, step)}" +
                        (spec.CreateBaseline && step is SetWeightPlanStep sw ? " " + BaselineStepText(spec, sw.Weight, stableReplicas) : ""), null));
                if (start.Request.Detach)
                    changes.Add(new($"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {ns}", "patch",
                        $"hand the rollout to the controllers (label {Kubestead.Controller.ControllerHandoff.DriverLabel}={Kubestead.Controller.ControllerHandoff.ControllerValue}); a controller replica drives the steps above", null));
                return changes;
            }
            case SetWeightOperation w:
            {
                var runtime = await RuntimeForAsync(w.Namespace, w.Name, ct).ConfigureAwait(false);
                return (await runtime.Router.PlanSetCanaryWeightAsync(w.Weight, ct).ConfigureAwait(false)).Select(ToChange).ToList();
            }
            case AbortOperation a:
                return await PlanAbortAsync(a, ct).ConfigureAwait(false);
            case PromoteOperation p:
            {
                var runtime = await RuntimeForAsync(p.Namespace, p.Name, ct).ConfigureAwait(false);
                var changes = new List<PlannedChange>
                {
                    new($"configmaps/{RolloutStateStore.ObjectName(p.Name)} in namespace {p.Namespace}", "patch", "record phase Promoting", null),
                };
                if (runtime.Plan.Policies.Promotion == PromotionMode.Full)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.StableDeployment} in namespace {p.Namespace}", "patch",
                        $"set stable's pod template to the canary's ({runtime.Workload.CanaryDeployment}) and wait until ready", null));
                changes.AddRange((await runtime.Router.PlanSetCanaryWeightAsync(runtime.Plan.Policies.Promotion == PromotionMode.Full ? 0 : 100, ct).ConfigureAwait(false)).Select(ToChange));
                changes.Add(new PlannedChange($"rollout {p.Name}", "cleanup", CleanupDescription(runtime), null));
                return changes;
            }
            case PauseOperation p:
            {
                // As PauseAsync decides: a finished rollout is refused, a paused one is left as it is (nothing written).
                var status = (await store.LoadAsync(p.Namespace, p.Name, ct).ConfigureAwait(false)).Status;
                if (status.Phase.IsTerminal()) throw KubesteadService.NotInPhase(p.Name, status.Phase, "paused");
                if (status.Phase == RolloutPhase.Paused)
                    return [new PlannedChange($"rollout {p.Name} in namespace {p.Namespace}", "none", $"already paused ({status.PauseReason}): nothing is written", null)];
                return [new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(p.Name)} in namespace {p.Namespace}", "patch", "record phase Paused (manual)", null)];
            }
            case ResumeOperation r:
                return [new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(r.Name)} in namespace {r.Namespace}", "patch", "record phase Progressing and continue the steps", null)];
            case ApproveOperation a:
                return [new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(a.Name)} in namespace {a.Namespace}", "patch",
                    $"record the approval of the current approval step{(a.Approver is null ? "" : $" by {a.Approver}")} and continue the steps", null)];
            case SetHeaderRouteOperation h:
            {
                KubesteadService.CheckCookie(h.Route);
                var route = RolloutExecutor.ToHeaderRoute(h.Route);
                return await PlanHeaderRouteWriteAsync(h.Namespace, h.Name, (router, ct2) => router.SetHeaderRouteAsync(route, ct2),
                    $"add header route {h.Route.RouteName} ({h.Route.Describe()})", ct, router => router is IHeaderRouteInstructions client
                        ? string.Join("; ", new[] { client.HeaderRouteInstructions(route), client.IgnoredMatch(route) }.OfType<string>())
                        : null).ConfigureAwait(false);
            }
            case RemoveHeaderRouteOperation h:
                return await PlanHeaderRouteWriteAsync(h.Namespace, h.Name, (router, ct2) => router.RemoveHeaderRouteAsync(h.RouteName, ct2),
                    $"remove header route {h.RouteName}", ct, removedRoute: h.RouteName).ConfigureAwait(false);
            default:
                throw new ArgumentException($"unknown operation {operation.GetType().Name}", nameof(operation));
        }
    }

    /// <summary>
    /// The writes <see cref="KubesteadService.AbortAsync"/> makes, following its own branches: a running rollout is aborted
    /// (record, weight 0, clean-up); a finished one only has its clean-up finished, or what is left of it removed, and one
    /// with nothing left gets a plan that says so instead of an abort that will not happen.
    /// </summary>
    private async Task<IReadOnlyList<PlannedChange>> PlanAbortAsync(AbortOperation a, CancellationToken ct)
    {
        var record = $"configmaps/{RolloutStateStore.ObjectName(a.Name)} in namespace {a.Namespace}";
        var changes = new List<PlannedChange>();
        var stored = await store.TryLoadAsync(a.Namespace, a.Name, ct).ConfigureAwait(false);
        if (stored is null)
        {
            stored = await LostStateRecovery.PlanAsync(api, clock, driver, a.Namespace, a.Name, ct, a.SpecFile).ConfigureAwait(false);
            changes.Add(new PlannedChange(record, "create", "re-create the deleted state as Aborted: " + stored.Status.Message, null));
        }
        var spec = stored.ParseSpec();
        var runtime = runtimes.Create(spec);
        var phase = stored.Status.Phase;
        if (!(phase.IsTerminal() && stored.Status.CleanupDone))
        {
            var recordAt = changes.Count;
            if (!phase.IsTerminal() || !stored.Status.CleanupStarted)
                changes.AddRange((await runtime.Router.PlanSetCanaryWeightAsync(0, ct).ConfigureAwait(false)).Select(ToChange));
            changes.Insert(recordAt, new PlannedChange(record, "patch", phase.IsTerminal() ? $"record the clean-up's progress (phase stays {phase})" : "record phase Aborted", null));
            changes.Add(new PlannedChange($"rollout {a.Name}", "cleanup", CleanupDescription(runtime), null));
        }
        else
        {
            var cleanup = new RolloutCleanup(api, stored.Namespace, stored.Name, RolloutFootprint.For(spec));
            changes.AddRange((await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false))
                .Select(left => new PlannedChange(left, "cleanup", $"left over by rollout {a.Name} ({phase}): removed, or reported when Kubestead cannot", null)));
        }
        if (await RolloutLeaseCleanup.FindRemovableAsync(api, stored.Namespace, stored.Name, driver, ct).ConfigureAwait(false) is not null)
            changes.Add(new PlannedChange($"leases.coordination.k8s.io/{RolloutLease.ObjectName(a.Name)} in namespace {a.Namespace}", "delete", "the rollout's Lease, released by its last driver", null));
        if (changes.Count == 0)
            changes.Add(new PlannedChange($"rollout {a.Name} in namespace {a.Namespace}", "none", $"already {phase} and cleaned up: nothing to abort; nothing is written", null));
        return changes;
    }

    /// <summary>
    /// Runs the router's own write against a recorder (reads real, writes kept), so the plan refuses what the write
    /// refuses and lists the patches it would send; then the status record the write makes.
    /// </summary>
    private async Task<IReadOnlyList<PlannedChange>> PlanHeaderRouteWriteAsync(string ns, string name, Func<ITrafficRouter, CancellationToken, Task> write,
        string what, CancellationToken ct, Func<ITrafficRouter, string?>? clientInstructions = null, string? removedRoute = null)
    {
        var stored = await store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        var spec = stored.ParseSpec();
        var recorder = new WriteRecordingApi(api);
        var router = runtimes.WithApi(recorder).Create(spec).Router;
        await write(router, ct).ConfigureAwait(false);
        var changes = recorder.Writes.Select(w => w with { Description = $"{what}: {w.Description}" }).ToList();
        // Removing a route that neither the mesh nor the rollout's record has changes nothing: say so rather than list a
        // history line for a removal that did not happen.
        if (changes.Count == 0 && removedRoute is not null && !stored.Status.HeaderRoutes.Contains(removedRoute))
            return [new PlannedChange($"{router.Provider} route of rollout {name}", "none", $"rollout {name} has no header route {removedRoute}: nothing to remove; nothing is written", null)];
        // Routers that route by a header the client chooses (Linkerd 1.x's l5d-dtab) write no route: say what to send.
        if (changes.Count == 0)
            changes.Add(new PlannedChange($"{router.Provider} route of rollout {name}", "none",
                clientInstructions?.Invoke(router) ?? $"{what}: the route already says so; it is not written", null));
        changes.Add(new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}", "patch", $"record: {what}", null));
        return changes;
    }

    private async Task<RolloutRuntime> RuntimeForAsync(string ns, string name, CancellationToken ct) =>
        runtimes.Create((await store.LoadAsync(ns, name, ct).ConfigureAwait(false)).ParseSpec());

    /// <summary>What a weight step writes, for meshes whose weights are not percents: namerd's dentry, the canary Ingress's annotation.</summary>
    private static string StepWrite(RolloutSpec spec, PlanStep step) => (step, spec.MeshProvider) switch
    {
        (SetWeightPlanStep w, MeshProviders.Linkerd1) =>
            $" (namerd dtab '{spec.Linkerd1!.DtabNamespace}': {Linkerd1Router.DescribeDentry(spec.Linkerd1, w.Weight)}, one compare-and-set)",
        (SetWeightPlanStep w, MeshProviders.Nginx) =>
            $" (Ingress {spec.Nginx!.CanaryIngress ?? spec.Nginx.Ingress + "-canary"}: canary-weight {Math.Round(w.Weight * spec.Nginx.WeightTotal / 100)} of {spec.Nginx.WeightTotal})",
        _ => "",
    };

    private static string CleanupDescription(RolloutRuntime rt) =>
        $"remove header routes and ownership annotations; {(rt.Workload.CreatesCanary ? $"delete Deployment {rt.Workload.CanaryDeployment}" : "leave the canary Deployment (not created by Kubestead)")}; remove objects Kubestead created for {rt.MeshProvider} routing";

    private static PlannedChange ToChange(PlannedWrite w) => new(w.Target.ToString(), w.Verb, w.Description, w.Body?.ToJsonString());

    /// <summary>A setWeight step's three-way split with a created baseline; without a mesh, the shares the pod counts give.</summary>
    internal static string BaselineStepText(RolloutSpec spec, double weight, int stableReplicas)
    {
        var baseline = RolloutSpec.BaselineShare(weight);
        if (spec.MeshProvider != MeshProviders.None)
            return $"(baseline {baseline:0.###}%, stable {100 - weight - baseline:0.###}%)";
        var mode = spec.None?.Capacity == CapacityPolicy.KeepTotal ? CapacityMode.KeepTotal : CapacityMode.KeepStable;
        try
        {
            var plan = ReplicaRatioPlanner.Plan(weight, stableReplicas, mode, baseline: true);
            return $"(pods stable {plan.StableReplicas} : canary {plan.CanaryReplicas} : baseline {plan.BaselineReplicas}, " +
                   $"so about {plan.StablePercent:0.#}% : {plan.CanaryPercent:0.#}% : {plan.BaselinePercent:0.#}%)";
        }
        catch (TrafficRoutingException e)
        {
            return $"(not possible: {e.Message})";
        }
    }
}
