using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

public sealed record ReplicaRatioRouterOptions(
    string Namespace,
    string Rollout,
    string Service,
    string StableDeployment,
    string CanaryDeployment,
    CapacityMode Capacity,
    TimeSpan ReadyTimeout,
    TimeProvider Clock)
{
    /// <summary>A created baseline's Deployment: sized like the canary, so the Service gives it the canary's share.</summary>
    public string? BaselineDeployment { get; init; }

    /// <summary>The labels Kubestead sets on the canary's (and a created baseline's) pods over stable's; null: not created by Kubestead, not checked.</summary>
    public IReadOnlyDictionary<string, string>? CanaryPodLabels { get; init; }

    public IReadOnlyDictionary<string, string>? BaselinePodLabels { get; init; }
}

/// <summary>
/// No mesh: the canary's share is its share of ready pods behind the Service. Weight changes scale Deployments through
/// the <c>scale</c> subresource and count as applied only once the pods are ready. The stable replica count at the
/// start is remembered on the canary Deployment (annotation) so keep-total mode can give pods back.
/// </summary>
public sealed class ReplicaRatioRouter(IKubernetesApi api, ReplicaRatioRouterOptions options) : ITrafficRouter
{
    internal const string StableReplicasAnnotation = "kubestead.io/stable-replicas";
    /// <summary>The error id when the Deployments were not ready within the progress deadline (the engine aborts on it).</summary>
    public const string PodsNotReadyErrorId = "PodsNotReady";
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    public string Provider => "none";

    private ObjectReference Ref(string name) => new(ResourceType.Deployment, options.Namespace, name);

    private bool HasBaseline => options.BaselineDeployment is not null;

    private ReplicaPlan PlanFor(double percent, int stableReplicas) => ReplicaRatioPlanner.Plan(percent, stableReplicas, options.Capacity, HasBaseline);

    public async Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default)
    {
        var n = await StableBudgetAsync(ct).ConfigureAwait(false);
        var min = ReplicaRatioPlanner.MinimumPercent(n, options.Capacity, HasBaseline);
        return new RoutingPrecision(min, min,
            $"without a mesh the canary's share is its share of ready pods: with {n} stable replicas{(HasBaseline ? " and a created baseline" : "")} the smallest share is about {min:0.#}%");
    }

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        var svc = await GetAsync(ResourceType.Service, options.Service, "spec.service", ct).ConfigureAwait(false);
        var selector = svc["spec"]?["selector"] as JsonObject;
        var svcRef = new ObjectReference(ResourceType.Service, options.Namespace, options.Service);
        if (selector is null || selector.Count == 0)
            throw new TrafficRoutingException("ServiceWithoutSelector", $"{svcRef}: spec.selector is empty; without a mesh Kubestead needs the Service to select pods", svcRef);
        var stable = await GetAsync(ResourceType.Deployment, options.StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var podLabels = stable["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
        var missing = selector.Where(kv => podLabels?[kv.Key]?.GetValue<string>() != kv.Value?.GetValue<string>()).Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (missing.Count > 0)
            throw new TrafficRoutingException("ServiceSelectsNoPods",
                $"{svcRef}: spec.selector ({string.Join(", ", missing)}) does not match the pods of Deployment {options.StableDeployment}; the Service would send them no traffic", svcRef);
        // Without a mesh the canary's share is its pods behind this Service: a selector that pins stable's version label
        // leaves the canary (and a baseline) without traffic while status reports its weight.
        foreach (var (what, laid) in new[] { ("canary", options.CanaryPodLabels), ("baseline", options.BaselinePodLabels) })
        {
            if (laid is null) continue;
            var pinned = selector.Where(kv => laid.TryGetValue(kv.Key, out var v) ? v != kv.Value?.GetValue<string>() : podLabels?[kv.Key]?.GetValue<string>() != kv.Value?.GetValue<string>())
                .Select(kv => $"{kv.Key}={kv.Value}").ToList();
            if (pinned.Count > 0)
                throw new TrafficRoutingException("ServiceSelectsNoCanaryPods",
                    $"spec.service: {svcRef} does not select the {what} pods (spec.selector {string.Join(", ", pinned)} does not match Deployment {options.StableDeployment}'s pod labels " +
                    $"with {string.Join(",", laid.Select(kv => $"{kv.Key}={kv.Value}"))}); without a mesh the {what}'s share is its pods behind this Service, so it would get no traffic: " +
                    $"remove {string.Join(", ", pinned.Select(p => p.Split('=')[0]))} from its spec.selector, or use a mesh", svcRef);
        }
        if (options.Capacity == CapacityMode.KeepTotal && await HpaGuard.FindAsync(api, options.Namespace, options.StableDeployment, ct).ConfigureAwait(false) is { } hpa)
            throw new TrafficRoutingException("KeepTotalWithAutoscaler",
                $"HorizontalPodAutoscaler {hpa["metadata"]?["name"]} scales Deployment {options.StableDeployment} (minReplicas {hpa["spec"]?["minReplicas"]?.ToString() ?? "1"}): " +
                "capacity keepTotal would take replicas from stable, below the autoscaler's minimum and against its decisions; use capacity: keepStable",
                Ref(options.StableDeployment));
    }

    public Task PrepareAsync(CancellationToken ct = default) => ConflictRetry.RunAsync(() => RememberStableReplicasAsync(null, ct));

    /// <param name="replicas">The count to remember (a split sized from an autoscaler); null: stable's count, once, at the start.</param>
    private async Task RememberStableReplicasAsync(int? replicas, CancellationToken ct)
    {
        var canary = await GetAsync(ResourceType.Deployment, options.CanaryDeployment, "spec.canary.deployment", ct).ConfigureAwait(false);
        var remembered = canary["metadata"]?["annotations"]?[StableReplicasAnnotation]?.GetValue<string>();
        if (remembered is not null && (replicas is null || remembered == replicas.Value.ToString(CultureInfo.InvariantCulture))) return;
        var n = replicas ?? (await StableAsync(ct).ConfigureAwait(false))["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(canary) };
        ops.AddRange(Ownership.SetAnnotation(canary, StableReplicasAnnotation, n.ToString(CultureInfo.InvariantCulture)));
        await api.PatchAsync(ResourceType.Deployment, options.Namespace, options.CanaryDeployment, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default)
    {
        var stable = await StableAsync(ct).ConfigureAwait(false);
        var canary = await ObjectLookup.TryGetAsync(api, ResourceType.Deployment, options.Namespace, options.CanaryDeployment, ct).ConfigureAwait(false);
        var baseline = options.BaselineDeployment is { } bd
            ? await ObjectLookup.TryGetAsync(api, ResourceType.Deployment, options.Namespace, bd, ct).ConfigureAwait(false)
            : null;
        int Ready(JsonObject? d) => d?["status"]?["readyReplicas"]?.GetValue<int>() ?? 0;
        var s = Ready(stable);
        var c = Ready(canary);
        var b = Ready(baseline);
        var total = s + c + b;
        List<BackendWeight> backends = [new BackendWeight(options.StableDeployment, s), new BackendWeight(options.CanaryDeployment, c)];
        if (options.BaselineDeployment is { } name) backends.Add(new BackendWeight(name, b));
        return new TrafficSplit(total == 0 ? 100 : 100.0 * s / total, total == 0 ? 0 : 100.0 * c / total, backends,
            HasBaseline
                ? $"ready pods of Deployments {options.StableDeployment}, {options.CanaryDeployment} and {options.BaselineDeployment}"
                : $"ready pods of Deployments {options.StableDeployment} and {options.CanaryDeployment}");
    }

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var sizing = await SizingAsync(ct).ConfigureAwait(false);
        var plan = PlanFor(percent, sizing.StableReplicas);
        // Stable's scale is read before anything is written: a stable deleted mid-rollout then pauses the rollout with the
        // canary's replicas as they were, instead of scaling the canary and failing on stable.
        var stableScale = sizing.Autoscaler is null ? await StableScaleAsync(ct).ConfigureAwait(false) : null;
        // Add capacity before taking it away: canary (and baseline) up first, stable down last.
        await ScaleAsync(options.CanaryDeployment, plan.CanaryReplicas, ct).ConfigureAwait(false);
        if (options.BaselineDeployment is { } baseline) await ScaleAsync(baseline, plan.BaselineReplicas, ct).ConfigureAwait(false);
        if (stableScale is not null) await ScaleAsync(options.StableDeployment, plan.StableReplicas, stableScale, ct).ConfigureAwait(false);
        // The autoscaler owns stable's count: remember the count this split was sized for, so a change is seen as drift.
        else await ConflictRetry.RunAsync(() => RememberStableReplicasAsync(sizing.StableReplicas, ct)).ConfigureAwait(false);
        await WaitReadyAsync(plan, ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var sizing = await SizingAsync(ct).ConfigureAwait(false);
        var plan = PlanFor(percent, sizing.StableReplicas);
        var canaryWrite = new PlannedWrite(Ref(options.CanaryDeployment), "patch scale", MergePatch.MediaType,
            new JsonObject { ["spec"] = new JsonObject { ["replicas"] = plan.CanaryReplicas } },
            $"scale Deployment {options.CanaryDeployment} to {plan.CanaryReplicas} (canary about {plan.CanaryPercent:0.#}%)" +
            (sizing.Autoscaler is { } hpa ? $", sized from the {plan.StableReplicas} stable replicas HorizontalPodAutoscaler {hpa} runs" : ""));
        List<PlannedWrite> writes = [canaryWrite];
        if (options.BaselineDeployment is { } baseline)
            writes.Add(new PlannedWrite(Ref(baseline), "patch scale", MergePatch.MediaType,
                new JsonObject { ["spec"] = new JsonObject { ["replicas"] = plan.BaselineReplicas } },
                $"scale Deployment {baseline} to {plan.BaselineReplicas} (baseline about {plan.BaselinePercent:0.#}%, stable about {plan.StablePercent:0.#}%)"));
        if (sizing.Autoscaler is not null) return writes;
        return
        [
            .. writes,
            new PlannedWrite(Ref(options.StableDeployment), "patch scale", MergePatch.MediaType,
                new JsonObject { ["spec"] = new JsonObject { ["replicas"] = plan.StableReplicas } },
                $"scale Deployment {options.StableDeployment} to {plan.StableReplicas}"),
        ];
    }

    /// <summary>How many stable replicas a split is sized for, and the autoscaler that decides that count (if any).</summary>
    private sealed record Sizing(int StableReplicas, string? Autoscaler);

    /// <summary>
    /// With a HorizontalPodAutoscaler on stable, the canary is sized from the replicas the autoscaler runs now (its
    /// decision, never below its minReplicas), and stable is left to it; otherwise from the count remembered at the start.
    /// </summary>
    private async Task<Sizing> SizingAsync(CancellationToken ct)
    {
        if (await HpaGuard.FindAsync(api, options.Namespace, options.StableDeployment, ct).ConfigureAwait(false) is not { } hpa)
            return new Sizing(await StableBudgetAsync(ct).ConfigureAwait(false), null);
        var stable = await StableAsync(ct).ConfigureAwait(false);
        return new Sizing(HpaGuard.StableReplicas(hpa, stable), hpa["metadata"]?["name"]?.ToString());
    }

    public Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default) =>
        throw new TrafficRoutingException("HeaderRoutesNeedMesh",
            route.Cookie is null
                ? $"header route '{route.Name}': routing by header needs a mesh (Istio or Linkerd); without one, traffic follows pods"
                : $"header route '{route.Name}' (cookie {route.Cookie.Name}): routing by cookie needs a mesh (Istio or Linkerd); without one, traffic follows pods");

    public Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default) => Task.CompletedTask;

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        // An autoscaler owns stable's count (and keepTotal is refused with one): nothing to give back.
        if (await HpaGuard.FindAsync(api, options.Namespace, options.StableDeployment, ct).ConfigureAwait(false) is not null) return;
        // Give stable back the replicas it had at the start (keep-total mode moved some to the canary).
        var budget = await StableBudgetAsync(ct).ConfigureAwait(false);
        await ScaleAsync(options.StableDeployment, budget, ct).ConfigureAwait(false);
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        var budget = await StableBudgetAsync(ct).ConfigureAwait(false);
        if (lastWritten.CanaryPercent >= 100) return null;
        var expected = PlanFor(Math.Round(lastWritten.CanaryPercent, 6), budget);
        var canary = await GetAsync(ResourceType.Deployment, options.CanaryDeployment, "spec.canary.deployment", ct).ConfigureAwait(false);
        var actual = canary["spec"]?["replicas"]?.GetValue<int>() ?? 0;
        // A created baseline's count is not compared: it is Kubestead's own object, and a driver that died between scaling
        // the canary and the baseline left it behind the canary; the step's next write sizes it again.
        if (actual == expected.CanaryReplicas)
        {
            // Without a mesh the share is a replica ratio: stable scaled by an autoscaler or a person changes it too.
            var stable = await StableAsync(ct).ConfigureAwait(false);
            var stableActual = stable["spec"]?["replicas"]?.GetValue<int>() ?? 1;
            if (stableActual == expected.StableReplicas) return null;
            return new DriftReport(Ref(options.StableDeployment),
                [new FieldDrift("/spec/replicas", expected.StableReplicas.ToString(CultureInfo.InvariantCulture), stableActual.ToString(CultureInfo.InvariantCulture))],
                Ownership.GitOpsController(stable));
        }
        return new DriftReport(Ref(options.CanaryDeployment),
            [new FieldDrift("/spec/replicas", expected.CanaryReplicas.ToString(CultureInfo.InvariantCulture), actual.ToString(CultureInfo.InvariantCulture))],
            Ownership.GitOpsController(canary));
    }

    /// <summary>Stable's replica count when the rollout began (remembered on the canary), else its current count.</summary>
    private async Task<int> StableBudgetAsync(CancellationToken ct)
    {
        try
        {
            var canary = await api.GetAsync(ResourceType.Deployment, options.Namespace, options.CanaryDeployment, ct).ConfigureAwait(false);
            if (canary["metadata"]?["annotations"]?[StableReplicasAnnotation]?.GetValue<string>() is { } s
                && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
        var stable = await StableAsync(ct).ConfigureAwait(false);
        return stable["spec"]?["replicas"]?.GetValue<int>() ?? 1;
    }

    private async Task ScaleAsync(string deployment, int replicas, CancellationToken ct) =>
        await ScaleAsync(deployment, replicas, await api.GetSubresourceAsync(ResourceType.Deployment, options.Namespace, deployment, "scale", ct).ConfigureAwait(false), ct)
            .ConfigureAwait(false);

    /// <param name="scale">The Deployment's scale subresource as read just before.</param>
    private async Task ScaleAsync(string deployment, int replicas, JsonObject scale, CancellationToken ct)
    {
        if (scale["spec"]?["replicas"]?.GetValue<int>() == replicas) return;
        await api.PatchSubresourceAsync(ResourceType.Deployment, options.Namespace, deployment, "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = replicas } }), ct).ConfigureAwait(false);
    }

    private async Task WaitReadyAsync(ReplicaPlan plan, CancellationToken ct)
    {
        var deadline = options.Clock.GetUtcNow() + options.ReadyTimeout;
        while (true)
        {
            var split = await GetSplitAsync(ct).ConfigureAwait(false);
            var stableReady = (int)split.Backends[0].Weight;
            var canaryReady = (int)split.Backends[1].Weight;
            var baselineReady = split.Backends.Count > 2 ? (int)split.Backends[2].Weight : 0;
            if (stableReady == plan.StableReplicas && canaryReady == plan.CanaryReplicas && baselineReady == plan.BaselineReplicas) return;
            if (options.Clock.GetUtcNow() >= deadline)
                throw new TrafficRoutingException(PodsNotReadyErrorId,
                    $"Deployments did not become ready within {options.ReadyTimeout.TotalSeconds:0}s: canary {canaryReady}/{plan.CanaryReplicas}, " +
                    (HasBaseline ? $"baseline {baselineReady}/{plan.BaselineReplicas}, " : "") +
                    $"stable {stableReady}/{plan.StableReplicas} ready; the step is not counted as applied",
                    Ref(options.CanaryDeployment), KubesteadErrorKind.InvalidState);
            await Task.Delay(Poll, options.Clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stable as the running rollout reads it: gone means someone deleted it mid-rollout, which the engine turns into a
    /// pause (PauseReason.StableMissing), as it does when the canary workload finds it gone with a mesh.
    /// </summary>
    private async Task<JsonObject> StableAsync(CancellationToken ct) =>
        await ObjectLookup.TryGetAsync(api, ResourceType.Deployment, options.Namespace, options.StableDeployment, ct).ConfigureAwait(false)
        ?? throw MissingStable();

    private async Task<JsonObject> StableScaleAsync(CancellationToken ct)
    {
        try
        {
            return await api.GetSubresourceAsync(ResourceType.Deployment, options.Namespace, options.StableDeployment, "scale", ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw MissingStable();
        }
    }

    private StableDeploymentMissingException MissingStable() =>
        new(options.Namespace, options.StableDeployment, Ref(options.StableDeployment).ToString());

    private Task<JsonObject> GetAsync(ResourceType type, string name, string field, CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, type, options.Namespace, name, field, ct);
}
