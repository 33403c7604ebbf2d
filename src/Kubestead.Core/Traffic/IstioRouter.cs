using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>What the Istio router manages: a VirtualService route to two subsets of one host (or to two hosts).</summary>
public sealed record IstioRouterOptions(
    string Namespace,
    string Rollout,
    string VirtualService,
    string Host,
    string? RouteName = null,
    string? DestinationRule = null,
    string StableSubset = "stable",
    string CanarySubset = "canary",
    string? StableHost = null,
    string? CanaryHost = null,
    string ApiVersion = "v1",
    string? StableDeployment = null,
    IReadOnlyDictionary<string, string>? CanaryPodLabels = null,
    IReadOnlyDictionary<string, string>? BaselinePodLabels = null,
    string BaselineSubset = "baseline")
{
    public bool HostBased => CanaryHost is not null;

    /// <summary>A created baseline (<c>baseline: {create: true}</c>): a subset of its own and a third destination with the canary's share.</summary>
    public bool HasBaseline => BaselinePodLabels is not null;
}

/// <summary>
/// Istio through a VirtualService: weight changes are one JSON Patch that pins the resourceVersion, the route's name
/// and each destination's host and subset with <c>test</c> operations and replaces only <c>weight</c> fields. With a
/// created baseline, preparation adds a <c>baseline</c> subset to the DestinationRule (the canary subset's labels with
/// the baseline's version value) and a third destination to the managed route; the baseline then gets the canary's
/// weight and stable the rest (10% is 80/10/10). Clean-up removes both, destination first.
/// </summary>
public sealed class IstioRouter(IKubernetesApi api, IstioRouterOptions options) : ITrafficRouter
{
    private const string HeaderRoutePrefix = "kubestead-";

    public string Provider => "istio";

    private ResourceType VsType => new("networking.istio.io", options.ApiVersion, "virtualservices", "VirtualService");
    private ResourceType DrType => new("networking.istio.io", options.ApiVersion, "destinationrules", "DestinationRule");
    private ObjectReference VsRef => new(VsType, options.Namespace, options.VirtualService);

    public Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default) =>
        Task.FromResult(new RoutingPrecision(1, 1, "Istio route weights are whole percents (1..100) that sum to 100"));

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        FindManagedRoute(vs);
        if (options.HostBased)
        {
            foreach (var host in new[] { options.StableHost ?? options.Host, options.CanaryHost! })
                await RequireAsync(ResourceType.Service, ShortHost(host), "hostBased service", ct).ConfigureAwait(false);
            return;
        }
        if (options.DestinationRule is null)
            throw new TrafficRoutingException("IstioDestinationRuleMissing",
                $"spec.istio.destinationRule: subset mode needs a DestinationRule defining subsets '{options.StableSubset}' and '{options.CanarySubset}'", VsRef);
        var dr = await RequireAsync(DrType, options.DestinationRule, "spec.istio.destinationRule.name", ct).ConfigureAwait(false);
        var drRef = new ObjectReference(DrType, options.Namespace, options.DestinationRule);
        var subsets = (dr["spec"]?["subsets"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        JsonObject Subset(string name) => subsets.FirstOrDefault(s => s["name"]?.GetValue<string>() == name)
            ?? throw new TrafficRoutingException("IstioSubsetMissing",
                $"{drRef}: spec.subsets has no subset named '{name}' (it has: {string.Join(", ", subsets.Select(s => s["name"]?.GetValue<string>()))})", drRef);
        var stableSubset = Subset(options.StableSubset);
        var canarySubset = Subset(options.CanarySubset);
        JsonObject? stablePodLabels = null;
        if (options.StableDeployment is { } stable)
        {
            var d = await RequireAsync(ResourceType.Deployment, stable, "spec.stable.deployment", ct).ConfigureAwait(false);
            stablePodLabels = d["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
            CheckLabels(drRef, options.StableSubset, stableSubset, stablePodLabels, $"Deployment {stable}'s pod template");
        }
        if (options.CanaryPodLabels is { } canaryLabels)
        {
            // A created canary is stable's template with the version label changed, so it has stable's other labels too.
            var labels = stablePodLabels?.DeepClone().AsObject() ?? new JsonObject();
            foreach (var (k, v) in canaryLabels) labels[k] = v;
            CheckLabels(drRef, options.CanarySubset, canarySubset, labels, "the canary pods");
        }
        if (options.HasBaseline && options.StableDeployment is { } stableName)
        {
            // The baseline pods carry stable's pod labels with the baseline's version value; the subset must select them.
            var podLabels = stablePodLabels?.DeepClone().AsObject() ?? new JsonObject();
            foreach (var (k, v) in options.BaselinePodLabels!) podLabels[k] = v;
            var existing = subsets.FirstOrDefault(x => x["name"]?.GetValue<string>() == options.BaselineSubset);
            var subset = existing ?? BuildBaselineSubset(canarySubset);
            CheckLabels(drRef, options.BaselineSubset, subset, podLabels, $"the baseline pods (Deployment {stableName}'s pod labels with {string.Join(", ", options.BaselinePodLabels.Select(kv => $"{kv.Key}={kv.Value}"))})");
        }
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        // The subset first: a destination naming a subset the DestinationRule lacks would fail requests.
        if (options.HasBaseline) await EnsureBaselineSubsetAsync(ct).ConfigureAwait(false);
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var (index, _, canary) = FindManagedRoute(vs);
        var baselineMissing = options.HasBaseline && BaselineIndex(vs, index) < 0;
        if (!baselineMissing && vs["metadata"]?["annotations"]?[Ownership.RolloutAnnotation]?.GetValue<string>() == options.Rollout) return;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(vs) };
        if (baselineMissing)
        {
            // One write adds the destination (the canary's host and port, subset baseline, at weight 0) and the mark
            // that clean-up must remove it again.
            var destination = vs["spec"]!["http"]![index]!["route"]![canary]!["destination"]!.DeepClone().AsObject();
            ops.Add(JsonPatchOperation.Test($"/spec/http/{index}/route/{canary}/destination/subset", options.CanarySubset));
            destination["subset"] = options.BaselineSubset;
            ops.Add(JsonPatchOperation.Add($"/spec/http/{index}/route/-", new JsonObject { ["destination"] = destination, ["weight"] = 0 }));
        }
        ops.AddRange(Ownership.SetAnnotation(vs, Ownership.RolloutAnnotation, options.Rollout));
        var annotated = new JsonPatch(ops).Apply(vs).AsObject();
        if (baselineMissing) ops.AddRange(Ownership.SetAnnotation(annotated, BaselineDestinationAnnotation, options.Rollout));
        ops.AddRange(Ownership.SetAnnotation(annotated, Ownership.ManagedFieldsAnnotation, string.Join(",", ManagedPointers(annotated, index))));
        await api.PatchAsync(VsType, options.Namespace, options.VirtualService, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    /// <summary>Set on the VirtualService when Kubestead added the baseline destination, on the DestinationRule when it added the subset.</summary>
    internal const string BaselineDestinationAnnotation = "kubestead.io/baseline-destination-added";
    internal const string BaselineSubsetAnnotation = "kubestead.io/baseline-subset-added";

    /// <summary>The baseline subset as Kubestead adds it: the canary subset's labels with the baseline's version value, and its trafficPolicy.</summary>
    internal JsonObject BuildBaselineSubset(JsonObject canarySubset)
    {
        var labels = canarySubset["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        foreach (var (k, v) in options.BaselinePodLabels!) labels[k] = v;
        var subset = new JsonObject { ["name"] = options.BaselineSubset, ["labels"] = labels };
        // The baseline is the canary's control: the same connection pool, outlier detection and TLS, or its numbers differ for that alone.
        if (canarySubset["trafficPolicy"] is { } policy) subset["trafficPolicy"] = policy.DeepClone();
        return subset;
    }

    private async Task EnsureBaselineSubsetAsync(CancellationToken ct)
    {
        var dr = await RequireAsync(DrType, options.DestinationRule!, "spec.istio.destinationRule.name", ct).ConfigureAwait(false);
        var subsets = (dr["spec"]?["subsets"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        if (subsets.Any(x => x["name"]?.GetValue<string>() == options.BaselineSubset)) return;
        var drRef = new ObjectReference(DrType, options.Namespace, options.DestinationRule!);
        var canary = subsets.FirstOrDefault(x => x["name"]?.GetValue<string>() == options.CanarySubset)
            ?? throw new TrafficRoutingException("IstioSubsetMissing",
                $"{drRef}: spec.subsets has no subset named '{options.CanarySubset}'; the baseline subset is made from its labels", drRef);
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(dr), JsonPatchOperation.Add("/spec/subsets/-", BuildBaselineSubset(canary)) };
        ops.AddRange(Ownership.SetAnnotation(dr, BaselineSubsetAnnotation, options.Rollout));
        await api.PatchAsync(DrType, options.Namespace, options.DestinationRule!, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    /// <summary>Removes the baseline subset if this rollout added it (after the destination naming it is gone).</summary>
    private async Task RemoveBaselineSubsetAsync(CancellationToken ct)
    {
        if (options.DestinationRule is null) return;
        if (await ObjectLookup.TryGetAsync(api, DrType, options.Namespace, options.DestinationRule, ct).ConfigureAwait(false) is not { } dr) return;
        if (dr["metadata"]?["annotations"]?[BaselineSubsetAnnotation]?.GetValue<string>() != options.Rollout) return;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(dr) };
        var subsets = dr["spec"]?["subsets"] as JsonArray ?? new JsonArray();
        var i = subsets.Select(x => x?["name"]?.GetValue<string>()).ToList().IndexOf(options.BaselineSubset);
        if (i >= 0)
        {
            ops.Add(JsonPatchOperation.Test($"/spec/subsets/{i}/name", options.BaselineSubset));
            ops.Add(JsonPatchOperation.Remove($"/spec/subsets/{i}"));
        }
        ops.AddRange(Ownership.RemoveAnnotation(dr, BaselineSubsetAnnotation));
        await api.PatchAsync(DrType, options.Namespace, options.DestinationRule, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default) =>
        ReadSplit(await GetVirtualServiceAsync(ct).ConfigureAwait(false));

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var patch = BuildWeightPatch(vs, percent);
        await api.PatchAsync(VsType, options.Namespace, options.VirtualService, patch, ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var patch = BuildWeightPatch(vs, percent);
        var baseline = options.HasBaseline ? BaselineWeight((int)percent) : 0;
        return [new PlannedWrite(VsRef, "patch", JsonPatch.MediaType, patch.ToJson(),
            $"set the weights of {VsRef} to stable {100 - (int)percent - baseline}% / canary {(int)percent}%" +
            (options.HasBaseline ? $" / baseline {baseline}% (subset '{options.BaselineSubset}')" : ""))];
    }

    /// <summary>The JSON Patch for a weight change; validates the weight and the route first.</summary>
    internal JsonPatch BuildWeightPatch(JsonObject vs, double percent)
    {
        if (double.IsNaN(percent) || percent < 0 || percent > 100)
            throw new TrafficRoutingException("WeightOutOfRange", $"weight {percent.ToString(CultureInfo.InvariantCulture)} is out of range 0..100", VsRef);
        if (percent != Math.Floor(percent))
            throw new TrafficRoutingException("WeightNotAchievable",
                $"Istio route weights are whole percents: {percent.ToString(CultureInfo.InvariantCulture)}% cannot be set; use {Math.Floor(percent)}% or {Math.Ceiling(percent)}%, or Linkerd/Gateway API for finer shares", VsRef);
        var (index, stable, canary) = FindManagedRoute(vs);
        var route = vs["spec"]!["http"]![index]!.AsObject();
        var basePath = $"/spec/http/{index}";
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(vs) };
        if (route["name"] is { } name) ops.Add(JsonPatchOperation.Test($"{basePath}/name", name.DeepClone()));
        var weights = new List<(int Index, int Weight)> { (stable, 100 - (int)percent), (canary, (int)percent) };
        // Traffic back to stable needs no baseline destination (clean-up may already have removed it).
        if (options.HasBaseline && !(percent == 0 && BaselineIndex(vs, index) < 0))
        {
            var b = BaselineIndex(vs, index);
            if (b < 0)
                throw new TrafficRoutingException("IstioRouteMissingBaseline",
                    $"{VsRef}: spec.http[{index}] has no destination for subset '{options.BaselineSubset}'; run the rollout's preparation first", VsRef, KubesteadErrorKind.InvalidState);
            // The baseline gets the canary's weight, taken from stable: 10% is 80/10/10 (the weights still sum to 100).
            var bw = BaselineWeight((int)percent);
            weights[0] = (stable, 100 - (int)percent - bw);
            weights.Add((b, bw));
        }
        foreach (var (i, w) in weights)
        {
            var dest = route["route"]![i]!["destination"]!;
            ops.Add(JsonPatchOperation.Test($"{basePath}/route/{i}/destination/host", dest["host"]!.DeepClone()));
            if (dest["subset"] is { } subset) ops.Add(JsonPatchOperation.Test($"{basePath}/route/{i}/destination/subset", subset.DeepClone()));
            ops.Add(JsonPatchOperation.Add($"{basePath}/route/{i}/weight", w));
        }
        return new JsonPatch(ops);
    }

    public async Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var (index, _, canary) = FindManagedRoute(vs);
        var name = HeaderRouteName(route.Name);
        var routes = vs["spec"]!["http"]!.AsArray();
        if (routes.OfType<JsonObject>().Any(r => r["name"]?.GetValue<string>() == name)) return;
        var headerRoute = HeaderRoute(routes[index]!.AsObject(), canary, name, route);
        var patch = new JsonPatch([
            Ownership.PinVersion(vs),
            JsonPatchOperation.Add($"/spec/http/{index}", headerRoute),
        ]);
        await api.PatchAsync(VsType, options.Namespace, options.VirtualService, patch, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The header route as a copy of the managed route, placed just before it: each of its matches (URI, method, ...) plus
    /// the header matches, its rewrite, headers, timeout, retries and other settings, and the canary destination alone.
    /// Istio takes the first route that matches, so header requests go to the canary exactly where the managed route
    /// took them, and the canary sees them shaped as stable does.
    /// </summary>
    private JsonObject HeaderRoute(JsonObject managed, int canary, string name, HeaderRoute route)
    {
        var baseMatches = managed["match"] is JsonArray { Count: > 0 } given ? given.OfType<JsonObject>().ToList() : [new JsonObject()];
        var matches = new JsonArray();
        foreach (var match in baseMatches)
        {
            var merged = match.DeepClone().AsObject();
            var headers = merged["headers"] as JsonObject ?? new JsonObject();
            foreach (var m in route.HeaderMatches)
            {
                if (headers.ContainsKey(m.Name))
                    throw new TrafficRoutingException("IstioHeaderRouteConflict",
                        $"header route '{route.Name}': the managed route '{managed["name"]?.GetValue<string>() ?? "(unnamed)"}' of {VsRef} already matches header '{m.Name}'; " +
                        "route by another header", VsRef);
                headers[m.Name] = new JsonObject { [m.Kind.ToString().ToLowerInvariant()] = m.Value };
            }
            merged["headers"] = headers;
            matches.Add((JsonNode)merged);
        }
        var destination = managed["route"]![canary]!.DeepClone().AsObject();
        destination.Remove("weight");
        var copy = new JsonObject { ["name"] = name, ["match"] = matches, ["route"] = new JsonArray(destination) };
        foreach (var (key, value) in managed)
            if (key is not ("name" or "match" or "route")) copy[key] = value?.DeepClone();
        return copy;
    }

    public async Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var full = HeaderRouteName(name);
        var routes = vs["spec"]?["http"] as JsonArray ?? new JsonArray();
        var index = routes.Select((r, i) => (r, i)).FirstOrDefault(x => x.r?["name"]?.GetValue<string>() == full).i;
        if (routes.ElementAtOrDefault(index)?["name"]?.GetValue<string>() != full) return;
        await api.PatchAsync(VsType, options.Namespace, options.VirtualService, new JsonPatch([
            Ownership.PinVersion(vs),
            JsonPatchOperation.Test($"/spec/http/{index}/name", full),
            JsonPatchOperation.Remove($"/spec/http/{index}"),
        ]), ct).ConfigureAwait(false);
    }

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        JsonObject vs;
        try
        {
            vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        }
        catch (TrafficRoutingException)
        {
            if (options.HasBaseline) await RemoveBaselineSubsetAsync(ct).ConfigureAwait(false);
            return;
        }
        var prefix = $"{HeaderRoutePrefix}{options.Rollout}-";
        var routes = vs["spec"]?["http"] as JsonArray ?? new JsonArray();
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(vs) };
        for (var i = routes.Count - 1; i >= 0; i--)
            if (routes[i]?["name"]?.GetValue<string>() is { } n && n.StartsWith(prefix, StringComparison.Ordinal))
            {
                ops.Add(JsonPatchOperation.Test($"/spec/http/{i}/name", n));
                ops.Add(JsonPatchOperation.Remove($"/spec/http/{i}"));
            }
        // The baseline destination this rollout added goes in the same write (its traffic is already back on stable).
        if (vs["metadata"]?["annotations"]?[BaselineDestinationAnnotation]?.GetValue<string>() == options.Rollout)
        {
            foreach (var (ri, di) in BaselineDestinations(vs))
            {
                // Header routes before the managed route were removed above, which shifts its index.
                var shifted = ri - Enumerable.Range(0, ri).Count(k => routes[k]?["name"]?.GetValue<string>() is { } n2 && n2.StartsWith(prefix, StringComparison.Ordinal));
                ops.Add(JsonPatchOperation.Test($"/spec/http/{shifted}/route/{di}/destination/subset", options.BaselineSubset));
                ops.Add(JsonPatchOperation.Remove($"/spec/http/{shifted}/route/{di}"));
            }
            ops.AddRange(Ownership.RemoveAnnotation(vs, BaselineDestinationAnnotation));
        }
        ops.AddRange(Ownership.RemoveAnnotation(vs, Ownership.RolloutAnnotation));
        ops.AddRange(Ownership.RemoveAnnotation(vs, Ownership.ManagedFieldsAnnotation));
        if (ops.Count > 1)
            await api.PatchAsync(VsType, options.Namespace, options.VirtualService, new JsonPatch(ops), ct).ConfigureAwait(false);
        if (options.HasBaseline) await RemoveBaselineSubsetAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The canary's weight for the baseline, as far as 100 allows.</summary>
    private static int BaselineWeight(int canary) => Math.Max(0, Math.Min(canary, 100 - canary));

    /// <summary>Where the managed route sends to the baseline subset, or -1.</summary>
    private int BaselineIndex(JsonObject vs, int routeIndex) => options.HasBaseline
        ? (vs["spec"]?["http"]?[routeIndex]?["route"] as JsonArray ?? new JsonArray())
            .Select(d => d?["destination"] as JsonObject).ToList().FindIndex(d => d is not null && IsBaseline(d))
        : -1;

    /// <summary>Every baseline destination in a non-header route (route index, destination index), for clean-up.</summary>
    private IEnumerable<(int Route, int Destination)> BaselineDestinations(JsonObject vs)
    {
        var routes = vs["spec"]?["http"] as JsonArray ?? new JsonArray();
        for (var r = 0; r < routes.Count; r++)
        {
            if (routes[r]?["name"]?.GetValue<string>()?.StartsWith(HeaderRoutePrefix, StringComparison.Ordinal) == true) continue;
            var dests = (routes[r]?["route"] as JsonArray ?? new JsonArray()).Select(d => d?["destination"] as JsonObject).ToList();
            var i = dests.FindIndex(d => d is not null && IsBaseline(d));
            if (i >= 0) yield return (r, i);
        }
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        if (options.HasBaseline && options.DestinationRule is { } drName)
        {
            // The baseline destination keeps its weight when a GitOps sync drops the subset: Envoy answers those requests 503.
            var dr = await ObjectLookup.TryGetAsync(api, DrType, options.Namespace, drName, ct).ConfigureAwait(false);
            if ((dr?["spec"]?["subsets"] as JsonArray)?.Any(x => x?["name"]?.GetValue<string>() == options.BaselineSubset) != true)
                return AddedObjectDrift.Missing(new ObjectReference(DrType, options.Namespace, drName), $"/spec/subsets (subset '{options.BaselineSubset}')", dr, trafficAtRisk: true);
        }
        if (options.HostBased && await AddedObjectDrift.ServiceAsync(api, options.Namespace, ShortHost(options.CanaryHost!), ct).ConfigureAwait(false) is { } service)
            return service;
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var (index, stable, canary) = FindManagedRoute(vs);
        if (options.HasBaseline && BaselineIndex(vs, index) < 0)
            return AddedObjectDrift.Missing(VsRef, $"/spec/http/{index}/route (destination subset '{options.BaselineSubset}')", vs, trafficAtRisk: false);
        var routes = (vs["spec"]?["http"] as JsonArray ?? new JsonArray()).Select(r => r?["name"]?.GetValue<string>()).ToHashSet();
        if (AddedObjectDrift.HeaderRoutes(VsRef, vs, headerRoutes, n => routes.Contains(HeaderRouteName(n)), n => $"/spec/http (header route '{HeaderRouteName(n)}')") is { } gone)
            return gone;
        var split = ReadSplit(vs);
        // With a baseline, stable's expected share follows from the canary's (the baseline takes the same from it).
        var expectedStable = options.HasBaseline
            ? 100 - lastWritten.CanaryPercent - Math.Max(0, Math.Min(lastWritten.CanaryPercent, 100 - lastWritten.CanaryPercent))
            : lastWritten.StablePercent;
        if (Math.Abs(split.CanaryPercent - lastWritten.CanaryPercent) < 1e-9 && Math.Abs(split.StablePercent - expectedStable) < 1e-9)
            return null;
        var fields = new List<FieldDrift>();
        if (Math.Abs(split.StablePercent - expectedStable) >= 1e-9)
            fields.Add(new FieldDrift($"/spec/http/{index}/route/{stable}/weight", Fmt(expectedStable), Fmt(split.StablePercent)));
        if (Math.Abs(split.CanaryPercent - lastWritten.CanaryPercent) >= 1e-9)
            fields.Add(new FieldDrift($"/spec/http/{index}/route/{canary}/weight", Fmt(lastWritten.CanaryPercent), Fmt(split.CanaryPercent)));
        return new DriftReport(VsRef, fields, Ownership.GitOpsController(vs));
    }

    /// <summary>JSON pointers of the fields Kubestead owns while a rollout runs (for annotations and GitOps ignore rules).</summary>
    public static IReadOnlyList<string> ManagedPointers(JsonObject vs, int routeIndex)
    {
        var count = (vs["spec"]?["http"]?[routeIndex]?["route"] as JsonArray)?.Count ?? 0;
        return Enumerable.Range(0, count).Select(i => $"/spec/http/{routeIndex}/route/{i}/weight").ToList();
    }

    /// <summary>The Argo CD ignoreDifferences entry and Flux guidance that keep a GitOps controller off Kubestead's fields.</summary>
    public async Task<(string ArgoCd, string Flux, IReadOnlyList<string> Pointers)> GitOpsConfigAsync(CancellationToken ct = default)
    {
        var vs = await GetVirtualServiceAsync(ct).ConfigureAwait(false);
        var (index, _, _) = FindManagedRoute(vs);
        var pointers = ManagedPointers(vs, index);
        var routeName = vs["spec"]!["http"]![index]!["name"]?.GetValue<string>();
        var jq = routeName is null
            ? $".spec.http[{index}].route[].weight"
            : $".spec.http[] | select(.name == \"{routeName}\") | .route[].weight";
        var argo = string.Join("\n", [
            "ignoreDifferences:",
            $"  - group: networking.istio.io",
            $"    kind: VirtualService",
            $"    name: {options.VirtualService}",
            $"    namespace: {options.Namespace}",
            "    jsonPointers:",
            .. pointers.Select(p => $"      - {p}"),
            "    jqPathExpressions:",
            $"      - '{jq}'",
            $"      - '.spec.http[] | select(.name // \"\" | startswith(\"{HeaderRoutePrefix}{options.Rollout}-\"))'",
            // A created baseline's subset lives in the DestinationRule while the rollout runs: a sync removing it would
            // fail the baseline's share of requests.
            .. (options.HasBaseline && options.DestinationRule is { } dr
                ? new[]
                {
                    "  - group: networking.istio.io",
                    "    kind: DestinationRule",
                    $"    name: {dr}",
                    $"    namespace: {options.Namespace}",
                    "    jqPathExpressions:",
                    $"      - '.spec.subsets[] | select(.name == \"{options.BaselineSubset}\")'",
                }
                : []),
            "syncPolicy:",
            "  syncOptions:",
            "    - RespectIgnoreDifferences=true",
        ]);
        var flux = string.Join("\n", [
            $"# Flux (kustomize-controller) applies with server-side apply and would reset the weights of VirtualService {options.VirtualService}.",
            "# Either stop Flux from owning the weights (remove them from the manifest in Git), or annotate the object so Flux",
            "# only creates it and leaves later changes alone:",
            "metadata:",
            "  annotations:",
            "    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent",
            "# or suspend reconciliation of this object while the rollout runs:",
            "#   kustomize.toolkit.fluxcd.io/reconcile: disabled",
        ]);
        return (argo, flux, pointers);
    }

    private string HeaderRouteName(string name) => $"{HeaderRoutePrefix}{options.Rollout}-{name}";

    private TrafficSplit ReadSplit(JsonObject vs)
    {
        var (index, stable, canary) = FindManagedRoute(vs);
        var dests = vs["spec"]!["http"]![index]!["route"]!.AsArray();
        double W(int i) => dests[i]?["weight"]?.GetValue<double>() ?? (dests.Count == 1 ? 100 : 0);
        var total = Enumerable.Range(0, dests.Count).Sum(W);
        var backends = Enumerable.Range(0, dests.Count).Select(i => new BackendWeight(Describe(dests[i]!["destination"]!), W(i))).ToList();
        return new TrafficSplit(total == 0 ? 0 : 100 * W(stable) / total, total == 0 ? 0 : 100 * W(canary) / total, backends,
            $"{VsRef} http[{index}]");
    }

    /// <summary>The managed HTTP route (by name, or the only one sending to both stable and canary) and the indices of both destinations.</summary>
    internal (int Index, int Stable, int Canary) FindManagedRoute(JsonObject vs)
    {
        var routes = (vs["spec"]?["http"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        var candidates = new List<(int Index, int Stable, int Canary)>();
        var withExtras = new List<(int Index, string? Name, List<string> Extra)>();
        for (var i = 0; i < routes.Count; i++)
        {
            var route = routes[i];
            var name = route["name"]?.GetValue<string>();
            if (name?.StartsWith(HeaderRoutePrefix, StringComparison.Ordinal) == true) continue;
            if (options.RouteName is not null && name != options.RouteName) continue;
            var dests = (route["route"] as JsonArray ?? new JsonArray()).Select(d => d?["destination"] as JsonObject).ToList();
            var s = dests.FindIndex(d => d is not null && IsStable(d));
            var c = dests.FindIndex(d => d is not null && IsCanary(d));
            if (options.RouteName is not null)
            {
                if (s < 0 || c < 0)
                    throw new TrafficRoutingException("IstioRouteMissingDestination",
                        $"{VsRef}: spec.http[{i}] (route '{name}') must send to both {Expect(true)} and {Expect(false)}; add the missing destination with weight 0", VsRef);
                if (Extra(dests) is { Count: > 0 } named) throw ExtraDestinations(i, name, named);
                return (i, s, c);
            }
            if (s >= 0 && c >= 0)
            {
                if (Extra(dests) is { Count: > 0 } extra) withExtras.Add((i, name, extra));
                else candidates.Add((i, s, c));
            }
        }
        // A route with stable, canary and something else is the one the user meant: name what is too many, not what is missing.
        if (options.RouteName is null && candidates.Count == 0 && withExtras.Count == 1) throw ExtraDestinations(withExtras[0].Index, withExtras[0].Name, withExtras[0].Extra);
        if (options.RouteName is not null)
            throw new TrafficRoutingException("IstioRouteNotFound",
                $"{VsRef}: spec.http has no route named '{options.RouteName}' (routes: {string.Join(", ", routes.Select((r, i) => r["name"]?.GetValue<string>() ?? $"#{i} (unnamed)"))})", VsRef);
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new TrafficRoutingException("IstioRouteNotFound",
                $"{VsRef}: no HTTP route sends to both {Expect(true)} and {Expect(false)}; routes: {string.Join(", ", routes.Select((r, i) => r["name"]?.GetValue<string>() ?? $"#{i} (unnamed)"))}. Add a canary destination with weight 0 to the route to manage, or name it in spec.istio.virtualService.route", VsRef),
            _ => throw new TrafficRoutingException("IstioRouteAmbiguous",
                $"{VsRef}: {candidates.Count} HTTP routes send to both stable and canary ({string.Join(", ", candidates.Select(c => routes[c.Index]["name"]?.GetValue<string>() ?? $"#{c.Index} (unnamed)"))}); name the one to manage in spec.istio.virtualService.route", VsRef),
        };
    }

    /// <summary>The destinations of a route that are neither stable, canary nor (with a created baseline) the baseline.</summary>
    private List<string> Extra(List<JsonObject?> dests) =>
        dests.Where(d => d is null || !IsStable(d) && !IsCanary(d) && !IsBaseline(d)).Select(d => d is null ? "(no destination)" : Describe(d)).ToList();

    private TrafficRoutingException ExtraDestinations(int index, string? name, List<string> extra) =>
        new("IstioRouteExtraDestination",
            $"{VsRef}: spec.http[{index}] ({(name is null ? "unnamed route" : $"route '{name}'")}) also sends to {string.Join(", ", extra)}; " +
            $"Kubestead manages a route whose destinations are exactly {Expect(true)} and {Expect(false)}{(options.HasBaseline ? " (and the baseline)" : "")}: " +
            "move that destination to a route of its own, or drop it", VsRef);

    private bool IsStable(JsonObject d) => options.HostBased
        ? SameHost(d["host"]?.GetValue<string>(), options.StableHost ?? options.Host)
        : SameHost(d["host"]?.GetValue<string>(), options.Host) && d["subset"]?.GetValue<string>() == options.StableSubset;

    private bool IsBaseline(JsonObject d) => options.HasBaseline && !options.HostBased
        && SameHost(d["host"]?.GetValue<string>(), options.Host) && d["subset"]?.GetValue<string>() == options.BaselineSubset;

    private bool IsCanary(JsonObject d) => options.HostBased
        ? SameHost(d["host"]?.GetValue<string>(), options.CanaryHost!)
        : SameHost(d["host"]?.GetValue<string>(), options.Host) && d["subset"]?.GetValue<string>() == options.CanarySubset;

    private string Expect(bool stable) => options.HostBased
        ? $"host '{(stable ? options.StableHost ?? options.Host : options.CanaryHost)}'"
        : $"subset '{(stable ? options.StableSubset : options.CanarySubset)}' of host '{options.Host}'";

    private bool SameHost(string? host, string expected) =>
        host is not null && (host == expected || ShortHost(host) == ShortHost(expected) && (host.Contains('.') ? host.StartsWith($"{ShortHost(expected)}.{options.Namespace}", StringComparison.Ordinal) : true));

    private static string ShortHost(string host) => host.Split('.')[0];

    private static string Describe(JsonNode dest) =>
        dest["subset"] is { } s ? $"{dest["host"]}/{s}" : dest["host"]?.GetValue<string>() ?? "?";

    private static string Fmt(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);

    private static void CheckLabels(ObjectReference dr, string subsetName, JsonObject subset, JsonObject? podLabels, string what)
    {
        var wanted = subset["labels"] as JsonObject ?? new JsonObject();
        foreach (var (k, v) in wanted)
        {
            var actual = podLabels?[k]?.GetValue<string>();
            if (actual != v?.GetValue<string>())
                throw new TrafficRoutingException("IstioSubsetLabelsMismatch",
                    $"{dr}: subset '{subsetName}' selects {k}={v}, but {what} has {(actual is null ? $"no label {k}" : $"{k}={actual}")}; no pod would receive this subset's traffic", dr);
        }
    }

    private async Task<JsonObject> GetVirtualServiceAsync(CancellationToken ct) =>
        await RequireAsync(VsType, options.VirtualService, "spec.istio.virtualService.name", ct).ConfigureAwait(false);

    private Task<JsonObject> RequireAsync(ResourceType type, string name, string field, CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, type, options.Namespace, name, field, ct);
}
