using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// What the canary runs: an existing Deployment, or one Kubestead creates from stable's template (or a manifest's)
/// changed by a strategic-merge patch and/or a new image.
/// </summary>
public sealed record CanarySource(string? ExistingDeployment, string? Image, string? Container)
{
    /// <summary>A strategic-merge patch of stable's pod template (<c>spec.canary.templatePatch</c>).</summary>
    public JsonObject? TemplatePatch { get; init; }

    /// <summary>A whole Deployment whose pod template replaces stable's (<c>spec.canary.manifest</c>).</summary>
    public JsonObject? Manifest { get; init; }
}

/// <summary>
/// Manages the Deployments of a rollout: creates the canary from stable's template, sizes it for the weight, makes
/// stable run the canary's version at promotion, and removes what Kubestead created. Every write is idempotent.
/// </summary>
public sealed class CanaryWorkload(
    IKubernetesApi api,
    TimeProvider clock,
    string ns,
    string rollout,
    string stableDeployment,
    CanarySource canary,
    string versionLabel,
    TimeSpan readyTimeout,
    string? createdBaseline = null)
{
    public const string CreatedByAnnotation = "kubestead.io/created-by";
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public string StableDeployment { get; } = stableDeployment;

    /// <summary>How long pods may take to become ready (spec none.readyTimeout, 10 minutes by default).</summary>
    public TimeSpan ReadyTimeout => readyTimeout;

    public string CanaryDeployment { get; } = canary.ExistingDeployment ?? $"{stableDeployment}-canary";

    public bool CreatesCanary => canary.ExistingDeployment is null;

    /// <summary>The baseline Deployment Kubestead creates from stable's template (stable's image), or null.</summary>
    public string? BaselineDeployment { get; } = createdBaseline;

    private ObjectReference Ref(string name) => new(ResourceType.Deployment, ns, name);

    /// <summary>Checks, without writing, that the Deployments exist and the template change fits stable's Deployment.</summary>
    public async Task ValidateAsync(CancellationToken ct)
    {
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        if (!CreatesCanary)
        {
            await GetDeploymentAsync(CanaryDeployment, "spec.canary.deployment", ct).ConfigureAwait(false);
            return;
        }
        CheckTemplateChange(stable);
    }

    private void CheckTemplateChange(JsonObject stable)
    {
        var containers = stable["spec"]?["template"]?["spec"]?["containers"] as JsonArray;
        if (containers is null || containers.Count == 0)
            throw Invalid($"Deployment {StableDeployment} has no containers in spec.template.spec.containers", Ref(StableDeployment));
        if (CanaryTemplateCheck.Problems(stable, canary, versionLabel) is { Count: > 0 } problems)
            throw Invalid(string.Join("; ", problems), Ref(StableDeployment));
    }

    /// <summary>
    /// True when promoting the canary would leave stable's template as it is (the same image, env, resources and every
    /// other field the change names): there is nothing to roll out.
    /// </summary>
    public async Task<bool> StableRunsCanaryVersionAsync(CancellationToken ct)
    {
        if (!CreatesCanary) return false;
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var canaryObj = BuildCanary(stable);
        return JsonNode.DeepEquals(PromotedTemplate(canaryObj, stable), stable["spec"]?["template"]);
    }

    /// <summary>What the canary's template changes relative to stable's: what promotion would write, one line per field.</summary>
    public async Task<IReadOnlyList<string>> DescribeCanaryChangeAsync(JsonObject canaryObj, CancellationToken ct)
    {
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        return PodTemplateDiff.Describe(stable["spec"]?["template"], PromotedTemplate(canaryObj, stable));
    }

    /// <summary>The canary Deployment Kubestead would create (for the dry run and for <see cref="EnsureCanaryAsync"/>).</summary>
    public async Task<JsonObject?> BuildCanaryAsync(CancellationToken ct)
    {
        if (!CreatesCanary) return null;
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        return BuildCanary(stable);
    }

    /// <summary>
    /// The canary's pod template: the manifest's or stable's, then the strategic-merge patch, then the image, and the
    /// version label set to <c>canary</c>. The rest of the Deployment (selector, labels) follows stable's.
    /// </summary>
    private JsonObject BuildCanary(JsonObject stable)
    {
        CheckTemplateChange(stable);
        var template = (canary.Manifest?["spec"]?["template"] ?? stable["spec"]!["template"]!).DeepClone().AsObject();
        if (canary.TemplatePatch is { } patch) template = PodTemplatePatch.Apply(template, patch);
        if (canary.Image is { } image)
        {
            var containers = template["spec"]!["containers"]!.AsArray();
            var target = canary.Container is { } name
                ? containers.First(c => c?["name"]?.GetValue<string>() == name)!
                : containers[0]!;
            target["image"] = image;
        }
        return CopyOfStable(stable, CanaryDeployment, "canary", template);
    }

    /// <summary>The baseline Deployment Kubestead would create: stable's template as it is, told apart by the version label.</summary>
    public async Task<JsonObject?> BuildBaselineAsync(CancellationToken ct)
    {
        if (BaselineDeployment is null) return null;
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        return CopyOfStable(stable, BaselineDeployment, "baseline", stable["spec"]!["template"]!.DeepClone().AsObject());
    }

    /// <summary>
    /// A Deployment shaped like stable (selector, labels) running <paramref name="template"/>, whose pods and selector carry
    /// <paramref name="version"/>, at zero replicas, owned by the rollout.
    /// </summary>
    private JsonObject CopyOfStable(JsonObject stable, string name, string version, JsonObject template)
    {
        var podLabels = template["metadata"]?["labels"] as JsonObject ?? new JsonObject();
        podLabels[versionLabel] = version;
        template["metadata"] ??= new JsonObject();
        template["metadata"]!["labels"] = podLabels;

        var selector = stable["spec"]?["selector"]?.DeepClone() as JsonObject ?? new JsonObject();
        var matchLabels = selector["matchLabels"] as JsonObject ?? new JsonObject();
        matchLabels[versionLabel] = version;
        selector["matchLabels"] = matchLabels;

        var labels = stable["metadata"]?["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        labels[versionLabel] = version;
        labels[RolloutStateStore.ManagedByLabel] = "kubestead";
        labels[RolloutStateStore.RolloutLabel] = rollout;
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = labels,
                ["annotations"] = new JsonObject { [CreatedByAnnotation] = rollout },
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = 0,
                ["selector"] = selector,
                ["template"] = template,
            },
        };
    }

    /// <summary>Creates the canary Deployment when the spec asks for one; idempotent (an existing one of ours is kept).</summary>
    public async Task EnsureCanaryAsync(CancellationToken ct)
    {
        if (await BuildCanaryAsync(ct).ConfigureAwait(false) is { } desired)
            await CreateOwnAsync(desired, CanaryDeployment, "name an existing canary with spec.canary.deployment or remove it", ct).ConfigureAwait(false);
        if (await BuildBaselineAsync(ct).ConfigureAwait(false) is { } baseline)
            await CreateOwnAsync(baseline, BaselineDeployment!, "name another baseline with spec.baseline.deployment or remove it", ct).ConfigureAwait(false);
    }

    private async Task CreateOwnAsync(JsonObject desired, string name, string fix, CancellationToken ct)
    {
        try
        {
            await api.CreateAsync(ResourceType.Deployment, ns, desired, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            var existing = await api.GetAsync(ResourceType.Deployment, ns, name, ct).ConfigureAwait(false);
            if (existing["metadata"]?["annotations"]?[CreatedByAnnotation]?.GetValue<string>() != rollout)
                throw Invalid($"Deployment {name} already exists and was not created by rollout {rollout}; {fix}", Ref(name));
        }
    }

    /// <summary>
    /// Rebuilds the canary Kubestead created from stable's current template (after stable changed under the rollout), so
    /// the canary carries the hotfix too. A user-supplied canary is the user's to rebuild and is left as it is.
    /// </summary>
    public Task RebuildCanaryFromStableAsync(CancellationToken ct) => ConflictRetry.RunAsync(() => RebuildCanaryOnceAsync(ct));

    private async Task RebuildCanaryOnceAsync(CancellationToken ct)
    {
        // The baseline follows stable's new template too, so it stays a fair control.
        if (await BuildBaselineAsync(ct).ConfigureAwait(false) is { } baseline && await TryGetAsync(BaselineDeployment!, ct).ConfigureAwait(false) is { } existingBaseline)
            await api.PatchAsync(ResourceType.Deployment, ns, BaselineDeployment!, new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", existingBaseline["metadata"]!["resourceVersion"]!.DeepClone()),
                JsonPatchOperation.Replace("/spec/template", baseline["spec"]!["template"]!.DeepClone()),
            ]), ct).ConfigureAwait(false);
        if (await BuildCanaryAsync(ct).ConfigureAwait(false) is not { } desired) return;
        var existing = await TryGetAsync(CanaryDeployment, ct).ConfigureAwait(false);
        if (existing is null)
        {
            await EnsureCanaryAsync(ct).ConfigureAwait(false);
            return;
        }
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", existing["metadata"]!["resourceVersion"]!.DeepClone()),
            JsonPatchOperation.Replace("/spec/template", desired["spec"]!["template"]!.DeepClone()),
        ]);
        await api.PatchAsync(ResourceType.Deployment, ns, CanaryDeployment, patch, ct).ConfigureAwait(false);
    }

    /// <summary>Canary replicas for a mesh weight: enough pods to carry the share, at least one, at most stable's count.</summary>
    public async Task ScaleForWeightAsync(double weight, CancellationToken ct)
    {
        // A canary the user supplied is sized the same way: left alone it would run at whatever size it had, and keep
        // running after promotion.
        var (desired, baseline) = await SizesForWeightAsync(weight, ct).ConfigureAwait(false);
        await ScaleAsync(CanaryDeployment, desired, ct).ConfigureAwait(false);
        if (BaselineDeployment is not null) await ScaleAsync(BaselineDeployment, baseline, ct).ConfigureAwait(false);
        if (desired > 0) await WaitReadyAsync(CanaryDeployment, ct).ConfigureAwait(false);
        if (baseline > 0) await WaitReadyAsync(BaselineDeployment!, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Between weight steps: re-sizes the canary (and a created baseline) for <paramref name="weight"/> from stable's
    /// replicas as they are now, so a canary keeps the same load per pod as stable when an autoscaler (or anyone)
    /// scales stable. Does not wait for new pods: the route keeps its weight while they start. Returns the resize made,
    /// or null when the sizes already fit.
    /// </summary>
    public async Task<CanaryResize?> FollowStableReplicasAsync(double weight, CancellationToken ct)
    {
        if (weight <= 0) return null;
        var (desired, baseline) = await SizesForWeightAsync(weight, ct).ConfigureAwait(false);
        var canaryBefore = await ReplicasAsync(CanaryDeployment, ct).ConfigureAwait(false);
        var baselineBefore = BaselineDeployment is null ? 0 : await ReplicasAsync(BaselineDeployment, ct).ConfigureAwait(false);
        if (canaryBefore == desired && baselineBefore == baseline) return null;
        if (canaryBefore != desired) await ScaleAsync(CanaryDeployment, desired, ct).ConfigureAwait(false);
        if (BaselineDeployment is not null && baselineBefore != baseline) await ScaleAsync(BaselineDeployment, baseline, ct).ConfigureAwait(false);
        return new CanaryResize(CanaryDeployment, canaryBefore, desired, BaselineDeployment, baselineBefore, baseline);
    }

    /// <summary>Canary and baseline replicas for a weight: enough pods to carry the share at stable's load per pod, at least one, at most stable's count.</summary>
    private async Task<(int Canary, int Baseline)> SizesForWeightAsync(double weight, CancellationToken ct)
    {
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var stableReplicas = stable["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        int For(double share) => share <= 0 ? 0 : Math.Clamp((int)Math.Ceiling(stableReplicas * share / 100.0), 1, Math.Max(1, stableReplicas));
        // The baseline is sized like the canary for its share (the same share up to 50%), so both see the same load per pod.
        return (For(weight), BaselineDeployment is null ? 0 : For(Specs.RolloutSpec.BaselineShare(weight)));
    }

    private async Task<int?> ReplicasAsync(string deployment, CancellationToken ct)
    {
        var scale = await api.GetSubresourceAsync(ResourceType.Deployment, ns, deployment, "scale", ct).ConfigureAwait(false);
        return scale["spec"]?["replicas"]?.GetValue<int>();
    }

    public async Task ScaleAsync(string deployment, int replicas, CancellationToken ct)
    {
        var scale = await api.GetSubresourceAsync(ResourceType.Deployment, ns, deployment, "scale", ct).ConfigureAwait(false);
        if (scale["spec"]?["replicas"]?.GetValue<int>() == replicas) return;
        await api.PatchSubresourceAsync(ResourceType.Deployment, ns, deployment, "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = replicas } }), ct).ConfigureAwait(false);
    }

    /// <summary>Stable's pod template as it is now; recorded at start so a change made to stable mid-rollout is noticed.</summary>
    public async Task<JsonObject> ReadStableTemplateAsync(CancellationToken ct)
    {
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        return stable["spec"]?["template"]?.DeepClone() as JsonObject ?? new JsonObject();
    }

    /// <summary>
    /// What stable changed relative to <paramref name="recorded"/>, or an empty list. A template equal to what promotion
    /// writes is not a change: that is a promotion whose driver stopped before recording it.
    /// </summary>
    public async Task<IReadOnlyList<string>> StableChangesSinceAsync(JsonObject recorded, CancellationToken ct)
    {
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var current = stable["spec"]?["template"];
        if (JsonNode.DeepEquals(current, recorded)) return Array.Empty<string>();
        if (await TryGetAsync(CanaryDeployment, ct).ConfigureAwait(false) is { } canaryObj && JsonNode.DeepEquals(current, PromotedTemplate(canaryObj, stable)))
            return Array.Empty<string>();
        return PodTemplateDiff.Describe(recorded, current);
    }

    /// <summary>
    /// What stable's template becomes at promotion: the canary's whole template, its labels and annotations included
    /// (config checksums, sidecar and scrape annotations), except the labels that tell the versions apart: the version
    /// label and the labels of stable's selector keep stable's values, so subsets and the Deployment keep matching.
    /// </summary>
    internal JsonObject PromotedTemplate(JsonObject canaryObj, JsonObject stable)
    {
        var template = canaryObj["spec"]!["template"]!.DeepClone().AsObject();
        var metadata = template["metadata"] as JsonObject ?? new JsonObject();
        template["metadata"] = metadata;
        var labels = metadata["labels"] as JsonObject ?? new JsonObject();
        metadata["labels"] = labels;
        var stableLabels = stable["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
        var keep = new HashSet<string> { versionLabel };
        if (stable["spec"]?["selector"]?["matchLabels"] is JsonObject selector) keep.UnionWith(selector.Select(p => p.Key));
        foreach (var key in keep)
        {
            if (stableLabels?[key] is { } value) labels[key] = value.DeepClone();
            else labels.Remove(key);
        }
        return template;
    }

    /// <summary>
    /// Makes stable run the canary's template (pod spec and metadata; its version labels stay stable's), then waits until
    /// it is ready. Refuses when stable's template is no longer <paramref name="recordedStable"/>: someone changed it.
    /// </summary>
    public async Task PromoteStableAsync(JsonObject? recordedStable, CancellationToken ct)
    {
        await ConflictRetry.RunAsync(() => WriteStableTemplateAsync(recordedStable, ct)).ConfigureAwait(false);
        await WaitReadyAsync(StableDeployment, ct).ConfigureAwait(false);
    }

    private async Task WriteStableTemplateAsync(JsonObject? recordedStable, CancellationToken ct)
    {
        var canaryObj = await GetDeploymentAsync(CanaryDeployment, "spec.canary.deployment", ct).ConfigureAwait(false);
        var stable = await GetDeploymentAsync(StableDeployment, "spec.stable.deployment", ct).ConfigureAwait(false);
        var promoted = PromotedTemplate(canaryObj, stable);
        var current = stable["spec"]!["template"]!;
        if (!JsonNode.DeepEquals(promoted, current))
        {
            if (recordedStable is not null && !JsonNode.DeepEquals(current, recordedStable))
                throw new StableTemplateChangedException(ns, StableDeployment, PodTemplateDiff.Describe(recordedStable, current));
            var patch = new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", stable["metadata"]!["resourceVersion"]!.DeepClone()),
                JsonPatchOperation.Replace("/spec/template", promoted),
            ]);
            await api.PatchAsync(ResourceType.Deployment, ns, StableDeployment, patch, ct).ConfigureAwait(false);
        }
    }

    private async Task<JsonObject?> TryGetAsync(string name, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(ResourceType.Deployment, ns, name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>Whether the canary still has pods to retire (so waiting scaleDownDelay means something).</summary>
    public async Task<bool> HasCanaryPodsToRetireAsync(CancellationToken ct)
    {
        if (BaselineDeployment is not null && await TryGetAsync(BaselineDeployment, ct).ConfigureAwait(false) is not null) return true;
        var canaryObj = await TryGetAsync(CanaryDeployment, ct).ConfigureAwait(false);
        if (canaryObj is null) return false;
        if (CreatesCanary) return canaryObj["metadata"]?["annotations"]?[CreatedByAnnotation]?.GetValue<string>() == rollout;
        return (canaryObj["spec"]?["replicas"]?.GetValue<int>() ?? 1) > 0;
    }

    /// <summary>
    /// Removes the canary once traffic is off it: deletes the Deployment Kubestead created; scales a user-supplied one to
    /// zero (it is the user's object, so it is kept, but it no longer runs pods nobody routes to).
    /// </summary>
    public async Task RetireCanaryAsync(CancellationToken ct)
    {
        await DeleteBaselineIfCreatedAsync(ct).ConfigureAwait(false);
        if (CreatesCanary)
        {
            await DeleteCanaryIfCreatedAsync(ct).ConfigureAwait(false);
            return;
        }
        if (await TryGetAsync(CanaryDeployment, ct).ConfigureAwait(false) is not null)
            await ScaleAsync(CanaryDeployment, 0, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes the canary (and baseline) Deployment if Kubestead created it; traffic must already be off it.</summary>
    public async Task DeleteCanaryIfCreatedAsync(CancellationToken ct)
    {
        await DeleteBaselineIfCreatedAsync(ct).ConfigureAwait(false);
        if (CreatesCanary) await DeleteOwnAsync(CanaryDeployment, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes the baseline Deployment Kubestead created (a failed start, abort and the end of the rollout).</summary>
    public Task DeleteBaselineIfCreatedAsync(CancellationToken ct) =>
        BaselineDeployment is null ? Task.CompletedTask : DeleteOwnAsync(BaselineDeployment, ct);

    private async Task DeleteOwnAsync(string name, CancellationToken ct)
    {
        try
        {
            var existing = await api.GetAsync(ResourceType.Deployment, ns, name, ct).ConfigureAwait(false);
            if (existing["metadata"]?["annotations"]?[CreatedByAnnotation]?.GetValue<string>() != rollout) return;
            await api.DeleteAsync(ResourceType.Deployment, ns, name,
                new DeleteOptions(PreconditionUid: existing["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }

    /// <summary>
    /// Whether every pod of the canary's planned count (its spec.replicas, as the weight step sized it) is updated and
    /// ready, read once: what a warm-up counts from. A missing canary is not ready.
    /// </summary>
    public async Task<CanaryReadiness> CanaryReadinessAsync(CancellationToken ct)
    {
        try
        {
            var d = await api.GetAsync(ResourceType.Deployment, ns, CanaryDeployment, ct).ConfigureAwait(false);
            return new CanaryReadiness(IsReady(d), d["status"]?["readyReplicas"]?.GetValue<int>() ?? 0, d["spec"]?["replicas"]?.GetValue<int>() ?? 1);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return new CanaryReadiness(false, 0, 0);
        }
    }

    /// <summary>
    /// Waits until the Deployment's latest generation is fully rolled out and ready. The canary or a created baseline not
    /// ready within the progress deadline has failed (<see cref="CanaryNotReadyException"/>, naming its pods' reason);
    /// stable not ready (after promotion) is left for a person, and can be resumed.
    /// </summary>
    public async Task WaitReadyAsync(string deployment, CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + readyTimeout;
        while (true)
        {
            var d = await api.GetAsync(ResourceType.Deployment, ns, deployment, ct).ConfigureAwait(false);
            if (IsReady(d)) return;
            if (clock.GetUtcNow() >= deadline)
            {
                var readiness = $"ready {d["status"]?["readyReplicas"]?.GetValue<int>() ?? 0} of {d["spec"]?["replicas"]?.GetValue<int>() ?? 0}";
                if (deployment != StableDeployment)
                    throw new CanaryNotReadyException(ns, deployment, readyTimeout, readiness, await PodTroubleAsync(d, ct).ConfigureAwait(false));
                throw new KubesteadException("DeploymentNotReady", KubesteadErrorKind.InvalidState,
                    $"Deployment {deployment} in namespace {ns} was not ready within {Durations.Format(readyTimeout)} " +
                    $"({readiness}); the rollout is left as it was and can be resumed",
                    Ref(deployment).ToString());
            }
            await Task.Delay(PollInterval, clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The canary's failure as of now, for a caller that waited for its pods itself (mesh none's router): the Deployment,
    /// how many pods are ready and why the others are not.
    /// </summary>
    public async Task<CanaryNotReadyException> CanaryNotReadyAsync(CancellationToken ct)
    {
        foreach (var name in new[] { CanaryDeployment, BaselineDeployment })
        {
            if (name is null || await TryGetAsync(name, ct).ConfigureAwait(false) is not { } d || IsReady(d)) continue;
            var readiness = $"ready {d["status"]?["readyReplicas"]?.GetValue<int>() ?? 0} of {d["spec"]?["replicas"]?.GetValue<int>() ?? 0}";
            return new CanaryNotReadyException(ns, name, readyTimeout, readiness, await PodTroubleAsync(d, ct).ConfigureAwait(false));
        }
        return new CanaryNotReadyException(ns, CanaryDeployment, readyTimeout, "not ready", null);
    }

    /// <summary>Why the Deployment's pods are not ready; null when the pods cannot be read (a Role without list on pods).</summary>
    private async Task<string?> PodTroubleAsync(JsonObject deployment, CancellationToken ct)
    {
        var selector = deployment["spec"]?["selector"]?["matchLabels"] as JsonObject;
        var labelSelector = selector is null ? null : string.Join(",", selector.Select(p => $"{p.Key}={p.Value?.GetValue<string>()}"));
        try
        {
            var pods = await api.ListAsync(ResourceType.Pod, ns, new ListOptions(LabelSelector: labelSelector), ct).ConfigureAwait(false);
            return PodTrouble.Describe(deployment, pods.Items);
        }
        catch (KubernetesApiException e) when (e.StatusCode == 403)
        {
            return PodTrouble.FromDeployment(deployment) ?? "the pods' reason is unknown: the Role may not list pods";
        }
    }

    internal static bool IsReady(JsonObject d)
    {
        var want = d["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var status = d["status"];
        var generation = d["metadata"]?["generation"]?.GetValue<long>() ?? 0;
        var observed = status?["observedGeneration"]?.GetValue<long>() ?? 0;
        int Count(string field) => status?[field]?.GetValue<int>() ?? 0;
        return observed >= generation && Count("updatedReplicas") >= want && Count("readyReplicas") >= want
               && Count("availableReplicas") >= want && (Count("replicas") <= want || want == 0);
    }

    private async Task<JsonObject> GetDeploymentAsync(string name, string field, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(ResourceType.Deployment, ns, name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound && name == StableDeployment)
        {
            throw new StableDeploymentMissingException(ns, name, Ref(name).ToString());
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new KubesteadException("DeploymentNotFound", KubesteadErrorKind.InvalidInput,
                $"{field}: Deployment '{name}' does not exist in namespace {ns}", Ref(name).ToString());
        }
    }

    private static KubesteadException Invalid(string message, ObjectReference target) =>
        new("InvalidCanary", KubesteadErrorKind.InvalidInput, message, target.ToString());
}
