using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts.Start;

/// <summary>What a preflight found: every check, and the errors of the failed ones (so start can throw the original error).</summary>
public sealed record PreflightReport(IReadOnlyList<SpecCheck> Checks, IReadOnlyList<KubesteadException> Errors)
{
    public bool Passed => Checks.All(c => c.Outcome != CheckOutcome.Failed);
}

/// <summary>
/// Everything <c>start</c> needs, checked before its first write and with reads only (SelfSubjectAccessReviews are
/// answered, never stored): the mesh APIs in the versions the spec asks for, the objects that must exist, no foreign
/// object where Kubestead will create one, no unfinished rollout or live driver, and every permission the rollout uses.
/// <c>validate --cluster</c>, <c>Test-KubesteadRollout -Cluster</c> and <c>start</c> run this same code.
/// </summary>
public sealed class StartPreflight(IKubernetesApi api, TimeProvider clock, DriverIdentity driver)
{
    /// <summary>One problem is thrown as itself (its error id stays stable); several as one error listing them all.</summary>
    public async Task RunOrThrowAsync(RolloutSpec spec, RolloutRuntime runtime, CancellationToken ct)
    {
        var report = await RunAsync(spec, runtime, ct).ConfigureAwait(false);
        if (!report.Passed)
            throw report.Errors.Count == 1 ? report.Errors[0] : new PreflightFailedException(report);
    }

    public async Task<PreflightReport> RunAsync(RolloutSpec spec, RolloutRuntime runtime, CancellationToken ct)
    {
        var checks = new List<SpecCheck>();
        var errors = new List<KubesteadException>();
        void Fail(string check, KubesteadException e)
        {
            // Several checks read the same object (the router also reads stable's Deployment): report each missing object once.
            if (e.Target is not null && errors.Any(x => x.Target == e.Target)) return;
            checks.Add(new SpecCheck(check, CheckOutcome.Failed, e.Message, e.Target));
            errors.Add(e);
        }

        var footprint = RolloutFootprint.For(spec);
        var apisServed = await CheckApisAsync(spec, footprint, checks, Fail, ct).ConfigureAwait(false);
        await CheckStateAsync(spec, checks, Fail, ct).ConfigureAwait(false);
        var failedBefore = errors.Count;
        await Guard(checks, Fail, "cluster", () => runtime.Workload.ValidateAsync(ct)).ConfigureAwait(false);
        if (errors.Count == failedBefore)
            await Guard(checks, Fail, "stable", async () => checks.Add(new SpecCheck("stable", CheckOutcome.Passed,
                await StableAvailability.CheckAsync(api, spec.Namespace, spec.StableDeployment, ct).ConfigureAwait(false)))).ConfigureAwait(false);
        if (apisServed)
        {
            // Router checks read the mesh objects; on an API the cluster does not serve they would only repeat the failure above.
            await Guard(checks, Fail, "cluster", () => runtime.Router.ValidateAsync(ct)).ConfigureAwait(false);
            if (spec.MeshProvider == MeshProviders.None && spec.Steps.OfType<SetWeightStepSpec>().FirstOrDefault(w => w.Weight > 0) is { } first)
                await Guard(checks, Fail, "cluster", () => runtime.Router.PlanSetCanaryWeightAsync(first.Weight, ct)).ConfigureAwait(false);
            if (errors.Count == failedBefore)
                checks.Add(new SpecCheck("cluster", CheckOutcome.Passed, $"the {spec.MeshProvider} objects and Deployments fit the spec"));
            if (spec.MeshProvider != MeshProviders.None
                && await HpaGuard.FindAsync(api, spec.Namespace, spec.StableDeployment, ct).ConfigureAwait(false) is { } hpa)
                checks.Add(new SpecCheck("autoscaler", CheckOutcome.Passed,
                    $"HorizontalPodAutoscaler {hpa["metadata"]?["name"]} scales Deployment {spec.StableDeployment} " +
                    $"({hpa["spec"]?["minReplicas"]?.ToString() ?? "1"} to {hpa["spec"]?["maxReplicas"]} replicas): the canary is resized from stable's " +
                    "replica count every round, so its pods carry stable's load per pod"));
            await CheckCreatedObjectsAsync(spec, footprint, checks, Fail, ct).ConfigureAwait(false);
        }
        if (await CheckPermissionsAsync(spec, footprint, runtime.Workload.CreatesCanary || runtime.Workload.BaselineDeployment is not null, checks, ct).ConfigureAwait(false) is { } denied)
            errors.Add(denied);
        return new PreflightReport(checks, errors);
    }

    private static async Task Guard(List<SpecCheck> checks, Action<string, KubesteadException> fail, string check, Func<Task> probe)
    {
        try
        {
            await probe().ConfigureAwait(false);
        }
        catch (KubesteadException e)
        {
            fail(check, e);
        }
        catch (KubernetesApiException e)
        {
            fail(check, new KubesteadException("PreflightReadFailed", KindOf(e), e.Message, e.Target?.ToString(), e));
        }
    }

    /// <summary>True when every mesh API is served in the version the spec asks for.</summary>
    private async Task<bool> CheckApisAsync(RolloutSpec spec, RolloutFootprint footprint, List<SpecCheck> checks, Action<string, KubesteadException> fail, CancellationToken ct)
    {
        if (footprint.MeshApis.Count == 0) return true;
        ApiDiscovery discovery;
        try
        {
            discovery = await api.DiscoverAsync(ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e)
        {
            checks.Add(new SpecCheck("crd", CheckOutcome.Warning, $"API discovery failed: {e.Message}"));
            return true;
        }
        var allServed = true;
        foreach (var need in footprint.MeshApis)
        {
            var t = need.Type;
            var served = discovery.VersionsOf(t.Group, t.Plural);
            if (served.Contains(t.Version))
            {
                checks.Add(new SpecCheck("crd", CheckOutcome.Passed, $"the cluster serves {t.QualifiedName}/{t.Version} (served versions: {string.Join(", ", served)})"));
                continue;
            }
            allServed = false;
            string message;
            if (served.Count == 0)
                message = $"{need.SpecField}: the cluster does not serve {t.QualifiedName} in any version: install the {spec.MeshProvider} CRDs";
            else
            {
                var usable = served.Where(v => need.SupportedVersions.Contains(v)).ToList();
                var fix = usable.Count > 0 && need.VersionPrefix is { } prefix
                    ? $"; set {need.SpecField}: {prefix}{usable[0]}"
                    : usable.Count > 0 ? "" : $"; Kubestead drives {string.Join(", ", need.SupportedVersions)}: upgrade the CRDs";
                message = $"{need.SpecField}: the cluster does not serve {t.QualifiedName}/{t.Version}; it serves {string.Join(", ", served)}{fix}";
            }
            fail("crd", new KubesteadException("ApiVersionNotServed", KubesteadErrorKind.InvalidInput, message, $"{t.QualifiedName}/{t.Version}"));
        }
        return allServed;
    }

    /// <summary>An unfinished rollout of the same name, or a live driver holding its Lease, stops a new start.</summary>
    private async Task CheckStateAsync(RolloutSpec spec, List<SpecCheck> checks, Action<string, KubesteadException> fail, CancellationToken ct)
    {
        var stateRef = $"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {spec.Namespace}";
        try
        {
            var existing = await new RolloutStateStore(api).TryLoadAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            if (existing is not null && !existing.Status.Phase.IsTerminal())
                fail("state", new RolloutStateException("RolloutAlreadyRunning",
                    $"Rollout '{spec.Name}' in namespace '{spec.Namespace}' is already {existing.Status.Phase}; resume, promote or abort it first", stateRef));
            else if (existing is not null && !existing.Status.CleanupDone)
                fail("state", new RolloutStateException("RolloutCleanupUnfinished",
                    $"Rollout '{spec.Name}' in namespace '{spec.Namespace}' is {existing.Status.Phase} and its clean-up is unfinished ({existing.Status.Message}); start, wait, resume or abort finishes it", stateRef));
            else
                checks.Add(new SpecCheck("state", CheckOutcome.Passed,
                    existing is null ? $"no rollout '{spec.Name}' is recorded yet" : $"the earlier rollout '{spec.Name}' ended {existing.Status.Phase}; its record will be replaced"));

            // A live driver matters only for a rollout that may start; for a running one the state error says it all.
            if (existing is not null && !existing.Status.CleanupDone) return;
            var lease = await ObjectLookupAsync(ResourceType.Lease, spec.Namespace, RolloutLease.ObjectName(spec.Name), ct).ConfigureAwait(false);
            if (lease?["spec"] is JsonObject ls && ls["holderIdentity"]?.GetValue<string>() is { Length: > 0 } holder
                && holder != driver.ToString() && RolloutLease.ExpiresAt(ls) > clock.GetUtcNow())
                fail("state", new RolloutLockedException(spec.Namespace, spec.Name, holder, RolloutLease.ExpiresAt(ls)));
        }
        catch (RolloutStateCorruptException e)
        {
            fail("state", e);
        }
        catch (KubernetesApiException e)
        {
            fail("state", new KubesteadException("PreflightReadFailed", KindOf(e), e.Message, stateRef, e));
        }
    }

    /// <summary>Where Kubestead will create an object, one already there must be this rollout's own (or, for Services and routes, a user's to adopt).</summary>
    private async Task CheckCreatedObjectsAsync(RolloutSpec spec, RolloutFootprint footprint, List<SpecCheck> checks, Action<string, KubesteadException> fail, CancellationToken ct)
    {
        foreach (var created in footprint.Creates)
        {
            var r = created.Ref;
            JsonObject? existing;
            try
            {
                existing = await ObjectLookupAsync(r.Type, r.Namespace, r.Name, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e)
            {
                fail("ownership", new KubesteadException("PreflightReadFailed", KindOf(e), e.Message, r.ToString(), e));
                continue;
            }
            var owner = existing?["metadata"]?["annotations"]?[Ownership.CreatedByAnnotation]?.GetValue<string>();
            var kind = r.Type.Kind;
            if (existing is null)
                checks.Add(new SpecCheck("ownership", CheckOutcome.Passed, $"{kind} {r.Name} does not exist yet: Kubestead will create it", r.ToString()));
            else if (owner == spec.Name)
                checks.Add(new SpecCheck("ownership", CheckOutcome.Passed, $"{kind} {r.Name} exists and was created by this rollout ({spec.Name}): it will be reused", r.ToString()));
            else if (owner is not null)
                fail("ownership", new KubesteadException("ObjectOwnedByAnotherRollout", KubesteadErrorKind.Conflict,
                    $"{created.SpecField}: {kind} {r.Name} already exists and belongs to rollout {owner} ({Ownership.CreatedByAnnotation}: {owner}); abort or finish rollout {owner}, or choose another name",
                    r.ToString()));
            else if (created.AdoptsForeign)
                checks.Add(new SpecCheck("ownership", CheckOutcome.Passed, $"{kind} {r.Name} exists and was not created by Kubestead: it is used as it is and left in place", r.ToString()));
            else
                fail("ownership", new KubesteadException("ObjectExists", KubesteadErrorKind.Conflict,
                    $"{created.SpecField}: {kind} {r.Name} already exists and was not created by Kubestead; " +
                    (r.Type == ResourceType.Deployment ? "name it in spec.canary.deployment to use it as the canary, or remove it" : $"remove it, or choose another name in {created.SpecField}"),
                    r.ToString()));
        }
    }

    /// <summary>One SelfSubjectAccessReview per verb; the error (null when all are allowed) lists every denial at once.</summary>
    private async Task<KubesteadException?> CheckPermissionsAsync(RolloutSpec spec, RolloutFootprint footprint, bool createsCanary, List<SpecCheck> checks,
        CancellationToken ct)
    {
        var denied = new List<string>();
        var reviewsAnswer = true;
        foreach (var (group, resource, verb) in Permissions(spec, footprint, createsCanary))
        {
            var what = $"{verb} {resource}{(group.Length > 0 ? "." + group : "")} in namespace {spec.Namespace}";
            try
            {
                var allowed = await AllowedAsync(spec.Namespace, group, resource, verb, ct).ConfigureAwait(false);
                checks.Add(new SpecCheck("rbac", allowed ? CheckOutcome.Passed : CheckOutcome.Failed, $"{what}: {(allowed ? "allowed" : "denied")}"));
                if (!allowed) denied.Add(what);
            }
            catch (KubernetesApiException e)
            {
                checks.Add(new SpecCheck("rbac", CheckOutcome.Warning, $"could not check {what}: {e.Message}"));
                reviewsAnswer = false;
                break;
            }
        }
        // Events are a courtesy (a rollout never fails for want of them), so a denial is a warning, not a refusal.
        foreach (var verb in reviewsAnswer ? EventVerbs : [])
        {
            var what = $"{verb} events.events.k8s.io in namespace {spec.Namespace}";
            try
            {
                var allowed = await AllowedAsync(spec.Namespace, "events.k8s.io", "events", verb, ct).ConfigureAwait(false);
                checks.Add(new SpecCheck("rbac", allowed ? CheckOutcome.Passed : CheckOutcome.Warning,
                    allowed ? $"{what}: allowed" : $"{what}: denied: the rollout runs, but kubectl describe deployment will not show Kubestead's Events"));
            }
            catch (KubernetesApiException e)
            {
                checks.Add(new SpecCheck("rbac", CheckOutcome.Warning, $"could not check {what}: {e.Message}"));
                break;
            }
        }
        return denied.Count == 0
            ? null
            : new KubesteadException("PermissionDenied", KubesteadErrorKind.PermissionDenied,
                $"the credentials may not: {string.Join("; ", denied)} (grant these in the namespace's Role)", $"namespace {spec.Namespace}");
    }

    /// <summary>The verbs Kubestead's Kubernetes Events need (create the first, patch its series).</summary>
    internal static readonly string[] EventVerbs = ["create", "patch"];

    private async Task<bool> AllowedAsync(string ns, string group, string resource, string verb, CancellationToken ct)
    {
        var parts = resource.Split('/');
        var review = new JsonObject
        {
            ["apiVersion"] = "authorization.k8s.io/v1",
            ["kind"] = "SelfSubjectAccessReview",
            ["spec"] = new JsonObject
            {
                ["resourceAttributes"] = new JsonObject
                {
                    ["namespace"] = ns, ["group"] = group, ["resource"] = parts[0], ["verb"] = verb,
                    ["subresource"] = parts.Length > 1 ? parts[1] : "",
                },
            },
        };
        var answer = await api.CreateAsync(ResourceType.SelfSubjectAccessReview, null, review, ct).ConfigureAwait(false);
        return answer["status"]?["allowed"]?.GetValue<bool>() == true;
    }

    /// <summary>Every verb a rollout uses from start to promotion or abort, per resource.</summary>
    internal static IEnumerable<(string Group, string Resource, string Verb)> Permissions(RolloutSpec spec, RolloutFootprint footprint, bool createsCanary)
    {
        foreach (var v in new[] { "get", "list", "create", "patch", "delete" }) yield return ("", "configmaps", v);
        // update: taking over an existing Lease (every release after the first, wait, resume, a re-run) replaces it whole,
        // carrying the resourceVersion read, so two drivers racing for it cannot both win.
        foreach (var v in new[] { "get", "create", "update", "patch", "delete" }) yield return ("coordination.k8s.io", "leases", v);
        foreach (var v in createsCanary ? new[] { "get", "list", "create", "patch", "delete" } : ["get", "patch"]) yield return ("apps", "deployments", v);
        yield return ("apps", "deployments/scale", "get");
        yield return ("apps", "deployments/scale", "patch");
        if (spec.MeshProvider is MeshProviders.Linkerd or MeshProviders.Smi or MeshProviders.Nginx or MeshProviders.Linkerd1)
            foreach (var v in new[] { "get", "list", "create", "delete" }) yield return ("", "services", v);
        // Credentials a metrics connection or a notification sink reads from a Secret are read at run time, in the
        // rollout's namespace: without get on secrets every window would fail as "metrics unavailable".
        if (ReadsSecrets(spec)) yield return ("", "secrets", "get");
        foreach (var mesh in footprint.MeshApis)
        {
            var creates = footprint.Creates.Any(c => c.Ref.Type == mesh.Type);
            // A created baseline adds (and later removes) its subset in the DestinationRule: patch only then.
            var verbs = mesh.Type.Plural == "destinationrules" ? spec.CreateBaseline ? new[] { "get", "patch" } : ["get"]
                : creates ? ["get", "list", "create", "patch", "delete"] : ["get", "patch"];
            foreach (var v in verbs) yield return (mesh.Type.Group, mesh.Type.Plural, v);
        }
    }

    internal static bool ReadsSecrets(RolloutSpec spec) =>
        (spec.Analysis?.Metrics ?? []).Any(m => m.Provider.ReadsSecrets)
        || spec.Notifications.Any(n => n.Url.Secret is not null || n.SigningKey?.Secret is not null)
        || spec.Webhooks.Any(w => w.Url.Secret is not null || w.SigningKey?.Secret is not null);

    private async Task<JsonObject?> ObjectLookupAsync(ResourceType type, string? ns, string name, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(type, ns, name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    private static KubesteadErrorKind KindOf(KubernetesApiException e) => e.StatusCode switch
    {
        401 or 403 => KubesteadErrorKind.PermissionDenied,
        404 => KubesteadErrorKind.NotFound,
        409 => KubesteadErrorKind.Conflict,
        _ => KubesteadErrorKind.Unavailable,
    };
}
