using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

public sealed record GatewayApiRouterOptions(
    string Namespace,
    string Rollout,
    string Service,
    string CanaryService,
    IReadOnlyDictionary<string, string> CanaryPodLabels,
    string? HttpRoute = null,
    string ApiGroup = "gateway.networking.k8s.io",
    string ApiVersion = "v1",
    string? StableService = null,
    string? BaselineService = null,
    IReadOnlyDictionary<string, string>? BaselinePodLabels = null)
{
    /// <summary>Stable's Deployment; when set, validation checks that the stable Service selects its pods and no canary or baseline pod.</summary>
    public string? StableDeployment { get; init; }

    /// <summary>The Service the managed rule sends stable traffic to; the parent Service unless the route names another.</summary>
    public string StableBackend => StableService ?? Service;
}

/// <summary>
/// Linkerd 2.12+ through an HTTPRoute (Gateway API or policy.linkerd.io) attached to the Service: backendRefs with
/// relative integer weights (shares below 1% are possible), header routes as extra rules with header matches. The parent
/// Service (<c>spec.service</c>) and the stable backend (<c>spec.linkerd.stableService</c>) may differ, as when a route
/// on <c>checkout-service</c> splits between <c>checkout-service-stable</c> and <c>checkout-service-canary</c>.
/// </summary>
public sealed class GatewayApiRouter(IKubernetesApi api, GatewayApiRouterOptions options) : ITrafficRouter
{
    private readonly CanaryService _canaryService = 
        new(api, options.Namespace, options.Rollout, options.StableBackend, options.CanaryService, options.CanaryPodLabels,
            options.StableService is null ? "spec.service" : "spec.linkerd.stableService", options.StableDeployment);

    private string Stable => options.StableBackend;

    /// <summary>The created baseline's Service (stable's ports, selector narrowed to the baseline pods), when the rollout has one.</summary>
    private readonly CanaryService? _baselineService = options.BaselineService is { } baseline
        ? new(api, options.Namespace, options.Rollout, options.StableBackend, baseline, options.BaselinePodLabels ?? new Dictionary<string, string>(),
            options.StableService is null ? "spec.service" : "spec.linkerd.stableService", options.StableDeployment)
        : null;

    public string Provider => "linkerd";

    /// <summary>The HTTPRoute kinds Linkerd's policy controller reads; a route of either kind on the parent Service takes part in its routing.</summary>
    private static readonly ResourceType[] LinkerdReadRouteTypes =
        [new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"), new("policy.linkerd.io", "v1beta3", "httproutes", "HTTPRoute")];

    private string RouteName => options.HttpRoute ?? $"{options.Service}-kubestead";
    private ResourceType RouteType => new(options.ApiGroup, options.ApiVersion, "httproutes", "HTTPRoute");
    private ObjectReference RouteRef => new(RouteType, options.Namespace, RouteName);

    public Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default) =>
        Task.FromResult(new RoutingPrecision(0.01, 0.01, "HTTPRoute weights are relative integers: shares down to 0.01% (9999:1)"));

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        await _canaryService.ValidateAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.ValidateAsync(ct).ConfigureAwait(false);
        if (options.StableService is not null && options.StableService != options.Service
            && await ObjectLookup.TryGetAsync(api, ResourceType.Service, options.Namespace, options.Service, ct).ConfigureAwait(false) is null)
        {
            var parent = new ObjectReference(ResourceType.Service, options.Namespace, options.Service);
            throw new TrafficRoutingException("ObjectNotFound", $"spec.service: {parent} does not exist (the HTTPRoute's parent Service)", parent);
        }
        if (await TryGetRouteAsync(ct).ConfigureAwait(false) is { } route) FindRule(route);
        if (options.HttpRoute is null)
        {
            var parentPort = options.StableService is null ? Port(await _canaryService.GetStableAsync(ct).ConfigureAwait(false)) : await ParentPortAsync(ct).ConfigureAwait(false);
            await SecondRouteCheck.CheckAsync(api, options.Namespace, options.Rollout, [RouteType, .. LinkerdReadRouteTypes.Where(t => t.Group != RouteType.Group)],
                RouteName, options.Service, parentPort, ct).ConfigureAwait(false);
        }
        await _canaryService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        await _canaryService.EnsureAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.EnsureAsync(ct).ConfigureAwait(false);
        var route = await TryGetRouteAsync(ct).ConfigureAwait(false);
        if (route is null)
        {
            var stable = await _canaryService.GetStableAsync(ct).ConfigureAwait(false);
            var parentPort = options.StableService is null ? Port(stable) : await ParentPortAsync(ct).ConfigureAwait(false);
            try
            {
                await api.CreateAsync(RouteType, options.Namespace, BuildRoute(parentPort, Port(stable)), ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsAlreadyExists)
            {
            }
            return;
        }
        var (rule, stableRef, canaryRef) = FindRule(route);
        var baselineRef = BaselineRef(route, rule);
        var baselineMissing = options.BaselineService is not null && baselineRef < 0;
        if (canaryRef >= 0 && !baselineMissing && route["metadata"]?["annotations"]?[Ownership.RolloutAnnotation] is not null) return;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(route) };
        var stableBackend = route["spec"]!["rules"]![rule]!["backendRefs"]![stableRef]!.AsObject();
        JsonObject NewBackend(string name)
        {
            var backend = new JsonObject { ["name"] = name, ["weight"] = 0 };
            if (stableBackend["port"] is { } port) backend["port"] = port.DeepClone();
            return backend;
        }
        if (canaryRef < 0 || baselineMissing) ops.Add(JsonPatchOperation.Test($"/spec/rules/{rule}/backendRefs/{stableRef}/name", Stable));
        if (canaryRef < 0) ops.Add(JsonPatchOperation.Add($"/spec/rules/{rule}/backendRefs/-", NewBackend(options.CanaryService)));
        if (baselineMissing) ops.Add(JsonPatchOperation.Add($"/spec/rules/{rule}/backendRefs/-", NewBackend(options.BaselineService!)));
        var firstPrepare = route["metadata"]?["annotations"]?[Ownership.RolloutAnnotation] is null;
        ops.AddRange(Ownership.SetAnnotation(route, Ownership.RolloutAnnotation, options.Rollout));
        // Remember the stable backendRef's weight as the user wrote it (absent means 1), so clean-up puts it back and a
        // GitOps diff shows nothing once traffic is all on stable again.
        if (firstPrepare)
            ops.Add(JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(StableWeightAnnotation),
                stableBackend["weight"] is { } w ? w.ToJsonString() : AbsentWeight));
        // Remember that the canary backendRef is ours, so clean-up removes only what Kubestead added (the map exists now).
        if (canaryRef < 0) ops.Add(JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(AddedBackendAnnotation), "true"));
        if (baselineMissing) ops.Add(JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(AddedBaselineAnnotation), "true"));
        await api.PatchAsync(RouteType, options.Namespace, RouteName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default) => ReadSplit(await GetRouteAsync(ct).ConfigureAwait(false));

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var route = await GetRouteAsync(ct).ConfigureAwait(false);
        await api.PatchAsync(RouteType, options.Namespace, RouteName, BuildWeightPatch(route, percent), ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var route = await TryGetRouteAsync(ct).ConfigureAwait(false);
        var (s, c) = RelativeWeights.For(percent);
        if (route is null)
            return [new PlannedWrite(RouteRef, "create", "application/json", BuildRoute(null, null), $"create {RouteRef}, then set weights {s}:{c}")];
        var b = options.BaselineService is null ? 0 : Math.Min(c, s);
        return [new PlannedWrite(RouteRef, "patch", JsonPatch.MediaType, BuildWeightPatch(route, percent).ToJson(),
            $"set backendRef weights of {RouteRef} to {Stable}={s - b}, {options.CanaryService}={c}" + (options.BaselineService is { } bs ? $", {bs}={b} (baseline)" : ""))];
    }

    internal JsonPatch BuildWeightPatch(JsonObject route, double percent)
    {
        var (s, c) = RelativeWeights.For(percent);
        var (rule, stableRef, canaryRef) = FindRule(route);
        if (canaryRef < 0)
            throw new TrafficRoutingException("HttpRouteMissingCanaryBackend",
                $"{RouteRef}: spec.rules[{rule}].backendRefs has no '{options.CanaryService}' entry; run the rollout's preparation first", RouteRef, KubesteadErrorKind.InvalidState);
        var b = $"/spec/rules/{rule}/backendRefs";
        var ops = new List<JsonPatchOperation>
        {
            Ownership.PinVersion(route),
            JsonPatchOperation.Test($"{b}/{stableRef}/name", Stable),
            JsonPatchOperation.Test($"{b}/{canaryRef}/name", options.CanaryService),
        };
        // Traffic back to stable needs no baseline backendRef (clean-up may already have removed it).
        if (options.BaselineService is { } baseline && !(percent == 0 && BaselineRef(route, rule) < 0))
        {
            var baselineRef = BaselineRef(route, rule);
            if (baselineRef < 0)
                throw new TrafficRoutingException("HttpRouteMissingBaselineBackend",
                    $"{RouteRef}: spec.rules[{rule}].backendRefs has no '{baseline}' entry; run the rollout's preparation first", RouteRef, KubesteadErrorKind.InvalidState);
            // The baseline gets the canary's share (as far as 100% allows), taken from stable: 10% is 80:10:10.
            var share = Math.Min(c, s);
            s -= share;
            ops.Add(JsonPatchOperation.Test($"{b}/{baselineRef}/name", baseline));
            ops.Add(JsonPatchOperation.Add($"{b}/{baselineRef}/weight", share));
        }
        ops.Add(JsonPatchOperation.Add($"{b}/{stableRef}/weight", s));
        ops.Add(JsonPatchOperation.Add($"{b}/{canaryRef}/weight", c));
        return new JsonPatch(ops);
    }

    /// <summary>Where the managed rule sends to the baseline Service, or -1 (also when the rollout has no baseline).</summary>
    private int BaselineRef(JsonObject route, int rule) => options.BaselineService is { } baseline
        ? (route["spec"]?["rules"]?[rule]?["backendRefs"] as JsonArray ?? new JsonArray()).Select(r => r?["name"]?.GetValue<string>()).ToList().IndexOf(baseline)
        : -1;

    public async Task SetHeaderRouteAsync(HeaderRoute header, CancellationToken ct = default)
    {
        var route = await GetRouteAsync(ct).ConfigureAwait(false);
        var (rule, stableRef, canaryRef) = FindRule(route);
        if (FindHeaderRule(route, header.Name) >= 0) return;
        var newRule = HeaderRule(route["spec"]!["rules"]![rule]!.AsObject(), stableRef, canaryRef, header);
        // Appended, not inserted: it beats the managed rule on the header count alone, and on a tie with another rule of the
        // user's (the same path and as many headers) list order keeps that rule first, as it was before the header route.
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(route), JsonPatchOperation.Add("/spec/rules/-", newRule) };
        ops.AddRange(Ownership.SetAnnotation(route, HeaderAnnotation(header.Name), HeaderKey(newRule)));
        await api.PatchAsync(RouteType, options.Namespace, RouteName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The header route as a copy of the managed rule: each of its matches (path, method, query) plus the route's header
    /// matches, its filters, timeouts and other settings, and the canary backendRef alone. So header requests to the
    /// managed paths reach the canary, paths nobody routed stay unrouted, and the canary sees requests shaped as stable does.
    /// </summary>
    private JsonObject HeaderRule(JsonObject managed, int stableRef, int canaryRef, HeaderRoute header)
    {
        var refs = managed["backendRefs"]!.AsArray();
        JsonObject backend;
        if (canaryRef >= 0)
        {
            backend = refs[canaryRef]!.DeepClone().AsObject();
            backend.Remove("weight");
        }
        else
        {
            backend = new JsonObject { ["name"] = options.CanaryService };
            if (refs[stableRef]!["port"] is { } port) backend["port"] = port.DeepClone();
        }
        var baseMatches = managed["matches"] is JsonArray { Count: > 0 } given ? given.OfType<JsonObject>().ToList() : [new JsonObject()];
        var matches = new JsonArray();
        foreach (var match in baseMatches)
        {
            var merged = match.DeepClone().AsObject();
            var headers = merged["headers"] as JsonArray ?? new JsonArray();
            foreach (var m in header.HeaderMatches)
                headers.Add((JsonNode)new JsonObject { ["name"] = m.Name, ["value"] = m.Value, ["type"] = m.Kind == HeaderMatchKind.Regex ? "RegularExpression" : "Exact" });
            merged["headers"] = headers;
            matches.Add((JsonNode)merged);
        }
        var rule = new JsonObject { ["matches"] = matches };
        // A rule's name must be unique within the route; everything else (filters, timeouts, retry, session persistence) carries over.
        foreach (var (key, value) in managed)
            if (key is not ("name" or "matches" or "backendRefs")) rule[key] = value?.DeepClone();
        rule["backendRefs"] = new JsonArray(backend);
        return rule;
    }

    public async Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default)
    {
        if (await TryGetRouteAsync(ct).ConfigureAwait(false) is not { } route) return;
        var index = FindHeaderRule(route, name);
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(route) };
        if (index >= 0) ops.Add(JsonPatchOperation.Remove($"/spec/rules/{index}"));
        ops.AddRange(Ownership.RemoveAnnotation(route, HeaderAnnotation(name)));
        if (ops.Count > 1) await api.PatchAsync(RouteType, options.Namespace, RouteName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        if (await TryGetRouteAsync(ct).ConfigureAwait(false) is { } route)
        {
            if (Ownership.CreatedBy(route, options.Rollout))
            {
                await DeleteAsync(RouteType, RouteName, route, ct).ConfigureAwait(false);
            }
            else
            {
                var ops = new List<JsonPatchOperation> { Ownership.PinVersion(route) };
                var annotations = route["metadata"]?["annotations"] as JsonObject;
                var backendIsOurs = annotations?[AddedBackendAnnotation] is not null;
                foreach (var key in annotations?.Select(kv => kv.Key).Where(k => k.StartsWith("kubestead.io/", StringComparison.Ordinal)).ToList() ?? [])
                    ops.AddRange(Ownership.RemoveAnnotation(route, key));
                // Drop the canary backendRef Kubestead added, now that it carries no traffic; one the route already
                // had before the rollout stays (at weight 0), so the route ends as the user wrote it.
                var (rule, _, canaryRef) = FindRule(route);
                var baselineRef = BaselineRef(route, rule);
                var baselineIsOurs = annotations?[AddedBaselineAnnotation] is not null;
                // Remove the higher index first, so the lower one still points where the test says.
                var removals = new List<(int Index, string Name)>();
                if (canaryRef >= 0 && backendIsOurs) removals.Add((canaryRef, options.CanaryService));
                if (baselineRef >= 0 && baselineIsOurs) removals.Add((baselineRef, options.BaselineService!));
                foreach (var (index, name) in removals.OrderByDescending(x => x.Index))
                {
                    ops.Add(JsonPatchOperation.Test($"/spec/rules/{rule}/backendRefs/{index}/name", name));
                    ops.Add(JsonPatchOperation.Remove($"/spec/rules/{rule}/backendRefs/{index}"));
                }
                ops.AddRange(RestoreStableWeight(route, rule, removals.Select(r => r.Index).ToList(), annotations?[StableWeightAnnotation]?.GetValue<string>()));
                if (ops.Count > 1) await api.PatchAsync(RouteType, options.Namespace, RouteName, new JsonPatch(ops), ct).ConfigureAwait(false);
            }
        }
        await _canaryService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Puts the stable backendRef's weight back as Prepare found it, but only when every backendRef that stays carries no
    /// weight, so the restored route still sends everything to stable (a mid-rollout clean-up keeps the weights it has).
    /// </summary>
    private IEnumerable<JsonPatchOperation> RestoreStableWeight(JsonObject route, int rule, IReadOnlyList<int> removed, string? was)
    {
        if (was is null) yield break;
        var refs = route["spec"]!["rules"]![rule]!["backendRefs"]!.AsArray();
        var stableRef = refs.Select(r => r?["name"]?.GetValue<string>()).ToList().IndexOf(Stable);
        if (stableRef < 0) yield break;
        var others = refs.Select((r, i) => (r, i)).Where(x => x.i != stableRef && !removed.Contains(x.i));
        if (others.Any(x => (x.r?["weight"]?.GetValue<double>() ?? 1) != 0)) yield break;
        var current = refs[stableRef]?["weight"];
        var pointer = $"/spec/rules/{rule}/backendRefs/{stableRef - removed.Count(i => i < stableRef)}";
        if (was == AbsentWeight)
        {
            if (current is null) yield break;
            yield return JsonPatchOperation.Test(pointer + "/name", Stable);
            yield return JsonPatchOperation.Remove(pointer + "/weight");
        }
        else if (int.TryParse(was, NumberStyles.Integer, CultureInfo.InvariantCulture, out var weight) && weight > 0 && current?.ToJsonString() != was)
        {
            yield return JsonPatchOperation.Test(pointer + "/name", Stable);
            yield return JsonPatchOperation.Add(pointer + "/weight", weight);
        }
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        foreach (var service in new[] { options.CanaryService, options.BaselineService })
            if (await AddedObjectDrift.ServiceAsync(api, options.Namespace, service, ct).ConfigureAwait(false) is { } gone) return gone;
        // A created route that is gone sends everything to the parent Service again: not unsafe, but not what Kubestead set.
        if (await TryGetRouteAsync(ct).ConfigureAwait(false) is not { } route)
            return AddedObjectDrift.Missing(RouteRef, "(the whole object)", null, trafficAtRisk: false);
        var (rule, _, canaryRef) = FindRule(route);
        if (canaryRef < 0)
            return AddedObjectDrift.Missing(RouteRef, $"/spec/rules/{rule}/backendRefs (backendRef '{options.CanaryService}')", route, trafficAtRisk: false);
        if (options.BaselineService is { } baseline && BaselineRef(route, rule) < 0)
            return AddedObjectDrift.Missing(RouteRef, $"/spec/rules/{rule}/backendRefs (backendRef '{baseline}')", route, trafficAtRisk: false);
        if (AddedObjectDrift.HeaderRoutes(RouteRef, route, headerRoutes, n => FindHeaderRule(route, n) >= 0, n => $"/spec/rules (header route '{n}')") is { } header)
            return header;
        var split = ReadSplit(route);
        if (Math.Abs(split.CanaryPercent - lastWritten.CanaryPercent) < 1e-6) return null;
        return new DriftReport(RouteRef,
            [new FieldDrift($"/spec/rules/{rule}/backendRefs/{canaryRef}/weight",
                lastWritten.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%",
                split.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%")],
            Ownership.GitOpsController(route));
    }

    private JsonObject BuildRoute(int? parentPort, int? port)
    {
        var parent = new JsonObject { ["name"] = options.Service, ["kind"] = "Service", ["group"] = "core" };
        if (parentPort is { } p) parent["port"] = p;
        JsonObject Backend(string name, int weight)
        {
            var b = new JsonObject { ["name"] = name, ["weight"] = weight };
            if (port is { } pp) b["port"] = pp;
            return b;
        }
        var backends = new JsonArray(Backend(Stable, 100), Backend(options.CanaryService, 0));
        if (options.BaselineService is { } baseline) backends.Add((JsonNode)Backend(baseline, 0));
        return new JsonObject
        {
            ["apiVersion"] = RouteType.ApiVersion,
            ["kind"] = "HTTPRoute",
            ["metadata"] = Ownership.Metadata(RouteName, options.Namespace, options.Rollout),
            ["spec"] = new JsonObject
            {
                ["parentRefs"] = new JsonArray(parent),
                ["rules"] = new JsonArray(new JsonObject
                {
                    ["backendRefs"] = backends,
                }),
            },
        };
    }

    private static int? Port(JsonObject service) => service["spec"]?["ports"]?[0]?["port"]?.GetValue<int>();

    /// <summary>The parent Service's first port, when the parent is not the stable backend (absent parent: no port).</summary>
    private async Task<int?> ParentPortAsync(CancellationToken ct) =>
        await ObjectLookup.TryGetAsync(api, ResourceType.Service, options.Namespace, options.Service, ct).ConfigureAwait(false) is { } parent ? Port(parent) : null;

    private TrafficSplit ReadSplit(JsonObject route)
    {
        var (rule, stableRef, canaryRef) = FindRule(route);
        var refs = route["spec"]!["rules"]![rule]!["backendRefs"]!.AsArray();
        double W(int i) => i < 0 ? 0 : refs[i]?["weight"]?.GetValue<double>() ?? 1;
        var total = refs.Select((_, i) => W(i)).Sum();
        return new TrafficSplit(total == 0 ? 0 : 100 * W(stableRef) / total, total == 0 ? 0 : 100 * W(canaryRef) / total,
            refs.Select((r, i) => new BackendWeight(r?["name"]?.GetValue<string>() ?? "?", W(i))).ToList(), $"{RouteRef} rules[{rule}]");
    }

    /// <summary>
    /// The rule to manage: among rules without header matches that send to the stable backend Service, the one that also sends to
    /// the canary Service, or the only one; several candidates are refused with the list so the user can fix the route.
    /// </summary>
    private (int Rule, int Stable, int Canary) FindRule(JsonObject route)
    {
        var rules = (route["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        var candidates = new List<(int Rule, int Stable, int Canary)>();
        for (var i = 0; i < rules.Count; i++)
        {
            if (IsHeaderRule(rules[i])) continue;
            var names = (rules[i]["backendRefs"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().Select(r => r["name"]?.GetValue<string>()).ToList();
            var s = names.IndexOf(Stable);
            if (s >= 0) candidates.Add((i, s, names.IndexOf(options.CanaryService)));
        }
        var withCanary = candidates.Where(c => c.Canary >= 0).ToList();
        var pick = withCanary.Count == 1 ? withCanary[0] : withCanary.Count == 0 && candidates.Count == 1 ? candidates[0] : ((int Rule, int Stable, int Canary)?)null;
        if (pick is not { } chosen)
        {
            string Describe(int i) => $"rules[{i}] ({string.Join(", ", (rules[i]["backendRefs"] as JsonArray ?? new JsonArray()).Select(b => b?["name"]?.GetValue<string>()))})";
            throw candidates.Count == 0
                ? new TrafficRoutingException("HttpRouteRuleNotFound",
                    $"{RouteRef}: no rule without header matches sends to Service '{Stable}' (rules: {string.Join("; ", Enumerable.Range(0, rules.Count).Select(Describe))})" +
                    (options.StableService is null
                        ? "; when the stable version's backendRef is another Service than the parent, name it in spec.linkerd.stableService"
                        : " (spec.linkerd.stableService)"), RouteRef)
                : new TrafficRoutingException("HttpRouteRuleAmbiguous",
                    $"{RouteRef}: {candidates.Count} rules send to Service '{Stable}' ({string.Join("; ", candidates.Select(c => Describe(c.Rule)))}); add a '{options.CanaryService}' backendRef with weight 0 to the one Kubestead should manage", RouteRef);
        }
        var backendNames = (rules[chosen.Rule]["backendRefs"] as JsonArray ?? new JsonArray()).Select(b => b?["name"]?.GetValue<string>()).ToList();
        var others = backendNames.Where(n => n != Stable && n != options.CanaryService && n != options.BaselineService).ToList();
        if (others.Count > 0)
            throw new TrafficRoutingException("HttpRouteForeignBackends",
                $"{RouteRef}: spec.rules[{chosen.Rule}].backendRefs also names {string.Join(", ", others)}; Kubestead manages rules that send only to '{Stable}' and '{options.CanaryService}'",
                RouteRef);
        return chosen;
    }

    private static bool IsHeaderRule(JsonObject rule) =>
        (rule["matches"] as JsonArray)?.OfType<JsonObject>().Any(m => m["headers"] is JsonArray { Count: > 0 }) == true;

    private int FindHeaderRule(JsonObject route, string name)
    {
        var key = route["metadata"]?["annotations"]?[HeaderAnnotation(name)]?.GetValue<string>();
        if (key is null) return -1;
        var rules = (route["spec"]?["rules"] as JsonArray ?? new JsonArray()).ToList();
        // Annotations written before the key left out server defaults hold the whole matches JSON: still recognised.
        return rules.FindIndex(r => r is JsonObject o && IsHeaderRule(o) && (HeaderKey(o) == key || o["matches"]!.ToJsonString() == key));
    }

    private static string HeaderAnnotation(string name) => $"kubestead.io/header-route.{name}";

    /// <summary>Set when Kubestead added the canary backendRef (and so must remove it at clean-up).</summary>
    internal const string AddedBackendAnnotation = "kubestead.io/canary-backend-added";

    /// <summary>The stable backendRef's weight before the rollout (a number, or <see cref="AbsentWeight"/>), restored at clean-up.</summary>
    internal const string StableWeightAnnotation = "kubestead.io/stable-weight-before";

    internal const string AbsentWeight = "absent";

    /// <summary>Set when Kubestead added the baseline backendRef (and so must remove it at clean-up).</summary>
    internal const string AddedBaselineAnnotation = "kubestead.io/baseline-backend-added";

    /// <summary>
    /// Identifies a header rule by its header matches only: the API server defaults other match fields (a real server adds
    /// <c>path: {type: PathPrefix, value: /}</c>), so the whole matches JSON read back differs from what was written.
    /// </summary>
    private static string HeaderKey(JsonObject rule) =>
        string.Join("\n", (rule["matches"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().Select(m =>
            string.Join(",", (m["headers"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
                .Select(h => $"{h["name"]?.GetValue<string>()}|{h["type"]?.GetValue<string>() ?? "Exact"}|{h["value"]?.GetValue<string>()}"))));

    private Task<JsonObject?> TryGetRouteAsync(CancellationToken ct) => ObjectLookup.TryGetAsync(api, RouteType, options.Namespace, RouteName, ct);

    private Task<JsonObject> GetRouteAsync(CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, RouteType, options.Namespace, RouteName, "spec.linkerd.httpRoute", ct, KubesteadErrorKind.InvalidState);

    private async Task DeleteAsync(ResourceType type, string name, JsonObject obj, CancellationToken ct)
    {
        try
        {
            await api.DeleteAsync(type, options.Namespace, name, new DeleteOptions(PreconditionUid: obj["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }
}
