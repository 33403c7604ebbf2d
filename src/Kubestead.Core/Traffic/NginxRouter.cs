using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

public sealed record NginxRouterOptions(
    string Namespace,
    string Rollout,
    string Service,
    string CanaryService,
    IReadOnlyDictionary<string, string> CanaryPodLabels,
    string Ingress,
    string? CanaryIngress = null,
    int WeightTotal = 100)
{
    /// <summary>Stable's Deployment; when set, validation checks that the stable Service selects its pods and no canary pod.</summary>
    public string? StableDeployment { get; init; }
}

/// <summary>
/// ingress-nginx through a canary Ingress: a second Ingress, created from the stable one, with the same hosts and paths
/// sent to the canary Service and the <c>nginx.ingress.kubernetes.io/canary*</c> annotations. The stable Ingress is
/// only read. Weights are integers out of <c>canary-weight-total</c> (default 100). ingress-nginx honours one canary
/// Ingress per host and path, so a header route (<c>canary-by-header</c>), a cookie route (<c>canary-by-cookie</c>)
/// and the weight share that one Ingress, evaluated in the order header, cookie, weight.
/// </summary>
public sealed class NginxRouter(IKubernetesApi api, NginxRouterOptions options) : ITrafficRouter
{
    private readonly CanaryService _canaryService = new(api, options.Namespace, options.Rollout, options.Service, options.CanaryService, options.CanaryPodLabels,
        stableDeployment: options.StableDeployment);

    public string Provider => "nginx";

    public string CanaryIngressName => options.CanaryIngress ?? $"{options.Ingress}-canary";
    private ObjectReference StableRef => new(ResourceType.Ingress, options.Namespace, options.Ingress);
    private ObjectReference CanaryRef => new(ResourceType.Ingress, options.Namespace, CanaryIngressName);
    private int Total => options.WeightTotal;

    public Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default)
    {
        var step = 100.0 / Total;
        return Task.FromResult(new RoutingPrecision(step, step,
            $"ingress-nginx's canary-weight is an integer out of canary-weight-total ({Total}): shares in steps of {Format(step)}%; raise spec.nginx.weightTotal for finer shares"));
    }

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        RequireHonouredTotal();
        await _canaryService.ValidateAsync(ct).ConfigureAwait(false);
        var stable = await GetStableAsync(ct).ConfigureAwait(false);
        NginxCanaryIngress.ValidateStable(stable, StableRef, options.Service);
        if (await TryGetCanaryAsync(ct).ConfigureAwait(false) is { } existing) RequireOurs(existing);
        var ours = NginxCanaryIngress.LocationsFor(stable, options.Service).ToHashSet();
        var all = await api.ListAsync(ResourceType.Ingress, options.Namespace, null, ct).ConfigureAwait(false);
        foreach (var other in all.Items)
        {
            var name = other["metadata"]?["name"]?.GetValue<string>();
            if (name == options.Ingress || name == CanaryIngressName || !NginxAnnotations.IsCanary(other)) continue;
            var shared = NginxCanaryIngress.AllLocations(other).Where(ours.Contains).ToList();
            if (shared.Count > 0)
            {
                var otherRef = new ObjectReference(ResourceType.Ingress, options.Namespace, name!);
                throw new TrafficRoutingException("NginxCanaryIngressConflict",
                    $"spec.nginx.ingress: {otherRef} is already a canary Ingress for {string.Join(", ", shared)}, and ingress-nginx honours one canary Ingress per host and path; " +
                    "remove it (or finish the rollout that made it) before starting this one", otherRef);
            }
        }
        await _canaryService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        RequireHonouredTotal();
        await _canaryService.EnsureAsync(ct).ConfigureAwait(false);
        if (await TryGetCanaryAsync(ct).ConfigureAwait(false) is { } existing)
        {
            RequireOurs(existing);
            return;
        }
        var stable = await GetStableAsync(ct).ConfigureAwait(false);
        NginxCanaryIngress.ValidateStable(stable, StableRef, options.Service);
        try
        {
            await api.CreateAsync(ResourceType.Ingress, options.Namespace, BuildCanary(stable), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            // A create whose answer was lost: the next read shows whose it is.
            RequireOurs(await GetCanaryAsync(ct).ConfigureAwait(false));
        }
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default) => Read(await GetCanaryAsync(ct).ConfigureAwait(false));

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        RequireHonouredTotal();
        var canary = await GetCanaryAsync(ct).ConfigureAwait(false);
        await api.PatchAsync(ResourceType.Ingress, options.Namespace, CanaryIngressName, BuildWeightPatch(canary, percent), ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var weight = WeightFor(percent);
        var canary = await TryGetCanaryAsync(ct).ConfigureAwait(false);
        if (canary is null)
        {
            var stable = await GetStableAsync(ct).ConfigureAwait(false);
            NginxCanaryIngress.ValidateStable(stable, StableRef, options.Service);
            return [new PlannedWrite(CanaryRef, "create", "application/json", BuildCanary(stable),
                $"create the canary Ingress {CanaryRef} from {StableRef} (sending to Service '{options.CanaryService}'), then set {NginxAnnotations.Weight}: \"{weight}\" of {Total}")];
        }
        RequireOurs(canary);
        return [new PlannedWrite(CanaryRef, "patch", JsonPatch.MediaType, BuildWeightPatch(canary, percent).ToJson(),
            $"set {NginxAnnotations.Weight} of {CanaryRef} to \"{weight}\" (of {Total}: canary {Format(percent)}%)")];
    }

    /// <summary>One write: the weight, plus the canary flag and the total it is read against (so a reassert restores all three).</summary>
    internal JsonPatch BuildWeightPatch(JsonObject canary, double percent)
    {
        var weight = WeightFor(percent);
        RequireOurs(canary);
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(canary) };
        var annotations = canary["metadata"]?["annotations"] as JsonObject;
        if (annotations is null) ops.Add(JsonPatchOperation.Add("/metadata/annotations", new JsonObject()));
        ops.Add(Set(NginxAnnotations.Canary, "true"));
        ops.Add(Set(NginxAnnotations.Weight, weight.ToString(CultureInfo.InvariantCulture)));
        if (Total != 100 || annotations?[NginxAnnotations.WeightTotal] is not null)
            ops.Add(Set(NginxAnnotations.WeightTotal, Total.ToString(CultureInfo.InvariantCulture)));
        return new JsonPatch(ops);
    }

    public async Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default)
    {
        route = CookieAsMatch(route);
        if (route.Matches.Count != 1)
            throw new TrafficRoutingException("NginxHeaderRouteShape",
                $"header route '{route.Name}': an ingress-nginx canary Ingress matches one header (canary-by-header) or one cookie (canary-by-cookie), not {route.Matches.Count} matches", CanaryRef);
        var match = route.Matches[0];
        var cookie = match.Kind == HeaderMatchKind.Cookie;
        if (cookie && match.Value is not ("" or "always"))
            throw new TrafficRoutingException("NginxCookieValue",
                $"header route '{route.Name}': ingress-nginx sends a request to the canary by cookie only when cookie '{match.Name}' is \"always\"; give the value \"always\" (got \"{match.Value}\")", CanaryRef);
        var written = NginxHeaderMatch.For(route.Name, match, CanaryRef);
        var canary = await GetCanaryAsync(ct).ConfigureAwait(false);
        RequireOurs(canary);
        var annotations = canary["metadata"]?["annotations"] as JsonObject;
        if (annotations?[RouteAnnotation(route.Name)] is not null) return;
        var kind = cookie ? "cookie" : "header";
        var holder = annotations?.Where(kv => kv.Key.StartsWith(RouteAnnotationPrefix, StringComparison.Ordinal) && kv.Value?.GetValue<string>() == kind)
            .Select(kv => kv.Key[RouteAnnotationPrefix.Length..]).FirstOrDefault();
        if (holder is not null)
            throw new TrafficRoutingException("NginxHeaderRouteTaken",
                $"header route '{route.Name}': {CanaryRef} already routes by {kind} for route '{holder}', and ingress-nginx honours one canary Ingress per host and path " +
                $"with one canary-by-{kind}; remove route '{holder}' first", CanaryRef, KubesteadErrorKind.Conflict);

        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(canary) };
        if (annotations is null) ops.Add(JsonPatchOperation.Add("/metadata/annotations", new JsonObject()));
        if (cookie)
        {
            ops.Add(Set(NginxAnnotations.ByCookie, match.Name));
        }
        else
        {
            ops.Add(Set(NginxAnnotations.ByHeader, written.Header));
            // canary-by-header-value wins over canary-by-header-pattern when both are present, so only one is ever set.
            var (set, value, clear) = written.Value is { } exact
                ? (NginxAnnotations.ByHeaderValue, exact, NginxAnnotations.ByHeaderPattern)
                : (NginxAnnotations.ByHeaderPattern, written.Pattern!, NginxAnnotations.ByHeaderValue);
            ops.Add(Set(set, value));
            if (annotations?[clear] is not null) ops.Add(JsonPatchOperation.Remove(Pointer(clear)));
        }
        ops.Add(Set(RouteAnnotation(route.Name), kind));
        await api.PatchAsync(ResourceType.Ingress, options.Namespace, CanaryIngressName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A cookie match as `header-route set --cookie` and Set-CanaryHeaderRoute -CookieName give it becomes the route's one
    /// canary-by-cookie match. ingress-nginx matches no cookie by regex, and a header with a cookie is two matches.
    /// </summary>
    private HeaderRoute CookieAsMatch(HeaderRoute route)
    {
        if (route.Cookie is not { } c) return route;
        if (c.IsRegex)
            throw new TrafficRoutingException("NginxCookieRegex",
                $"header route '{route.Name}' (cookie {c.Name} matching {c.Value}): ingress-nginx routes by cookie only when its value is \"always\" (canary-by-cookie), " +
                "never by a regex; give the cookie value \"always\" instead", CanaryRef);
        if (route.Matches.Count > 0)
            throw new TrafficRoutingException("NginxHeaderRouteShape",
                $"header route '{route.Name}': an ingress-nginx canary Ingress matches one header (canary-by-header) or one cookie (canary-by-cookie), not a header and a cookie", CanaryRef);
        return new HeaderRoute(route.Name, [new HeaderMatch(c.Name, c.Value, HeaderMatchKind.Cookie)]);
    }

    public async Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default)
    {
        if (await TryGetCanaryAsync(ct).ConfigureAwait(false) is not { } canary || !Ownership.CreatedBy(canary, options.Rollout)) return;
        var annotations = canary["metadata"]?["annotations"] as JsonObject;
        if (annotations?[RouteAnnotation(name)]?.GetValue<string>() is not { } kind) return;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(canary) };
        var keys = kind == "cookie"
            ? new[] { NginxAnnotations.ByCookie }
            : [NginxAnnotations.ByHeader, NginxAnnotations.ByHeaderValue, NginxAnnotations.ByHeaderPattern];
        foreach (var key in keys.Append(RouteAnnotation(name)))
            ops.AddRange(Ownership.RemoveAnnotation(canary, key));
        await api.PatchAsync(ResourceType.Ingress, options.Namespace, CanaryIngressName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        // Deleting the canary Ingress returns every request to the stable Ingress at once; a foreign one is never touched.
        if (await TryGetCanaryAsync(ct).ConfigureAwait(false) is { } canary && Ownership.CreatedBy(canary, options.Rollout))
        {
            try
            {
                await api.DeleteAsync(ResourceType.Ingress, options.Namespace, CanaryIngressName,
                    new DeleteOptions(PreconditionUid: canary["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
            }
        }
        await _canaryService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        if (await AddedObjectDrift.ServiceAsync(api, options.Namespace, options.CanaryService, ct).ConfigureAwait(false) is { } gone) return gone;
        // Without the canary Ingress ingress-nginx sends everything to the main Ingress: safe, but not what Kubestead set.
        if (await TryGetCanaryAsync(ct).ConfigureAwait(false) is not { } canary)
            return AddedObjectDrift.Missing(CanaryRef, "(the whole object)", null, trafficAtRisk: false);
        var annotations = canary["metadata"]?["annotations"] as JsonObject;
        if (AddedObjectDrift.HeaderRoutes(CanaryRef, canary, headerRoutes, n => annotations?[RouteAnnotation(n)] is not null, n => $"{Pointer(RouteAnnotation(n))} (header route '{n}')") is { } header)
            return header;
        string? A(string key) => annotations?[key]?.GetValue<string>();
        var fields = new List<FieldDrift>();
        if (!NginxAnnotations.IsCanary(canary))
            fields.Add(new FieldDrift(Pointer(NginxAnnotations.Canary), "true", A(NginxAnnotations.Canary)));
        var total = Total.ToString(CultureInfo.InvariantCulture);
        if ((A(NginxAnnotations.WeightTotal) ?? "100") != total)
            fields.Add(new FieldDrift(Pointer(NginxAnnotations.WeightTotal), total, A(NginxAnnotations.WeightTotal)));
        var expected = (long)Math.Round(lastWritten.CanaryPercent * Total / 100);
        if (!long.TryParse(A(NginxAnnotations.Weight), NumberStyles.Integer, CultureInfo.InvariantCulture, out var weight) || weight != expected)
            fields.Add(new FieldDrift(Pointer(NginxAnnotations.Weight), expected.ToString(CultureInfo.InvariantCulture), A(NginxAnnotations.Weight)));
        return fields.Count == 0 ? null : new DriftReport(CanaryRef, fields, Ownership.GitOpsController(canary));
    }

    private TrafficSplit Read(JsonObject canary)
    {
        var annotations = canary["metadata"]?["annotations"] as JsonObject;
        var total = NginxAnnotations.EffectiveTotal(ParseInt(annotations?[NginxAnnotations.WeightTotal]));
        var weight = ParseInt(annotations?[NginxAnnotations.Weight]) ?? 0;
        // ingress-nginx reads a weight above the total as the total; an Ingress that is not marked canary splits nothing.
        var share = !NginxAnnotations.IsCanary(canary) || total <= 0 ? 0 : 100.0 * Math.Clamp(weight, 0, total) / total;
        return new TrafficSplit(100 - share, share,
            [new BackendWeight(options.Service, total - Math.Clamp(weight, 0, total)), new BackendWeight(options.CanaryService, Math.Clamp(weight, 0, total))],
            $"{CanaryRef} {NginxAnnotations.Weight}");
    }

    private static long? ParseInt(JsonNode? node) =>
        node is not null && long.TryParse(node.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>The integer canary-weight for a share, or an error naming the precision the total allows.</summary>
    internal long WeightFor(double percent)
    {
        RequireHonouredTotal();
        if (double.IsNaN(percent) || percent < 0 || percent > 100)
            throw new TrafficRoutingException("WeightOutOfRange", $"weight {Format(percent)} is out of range 0..100");
        var exact = percent * Total / 100;
        var rounded = Math.Round(exact);
        if (Math.Abs(exact - rounded) > 1e-9)
            throw new TrafficRoutingException("WeightNotAchievable",
                $"weight {Format(percent)}% is not a whole canary-weight out of canary-weight-total {Total} (steps of {Format(100.0 / Total)}%); " +
                "round it, or raise spec.nginx.weightTotal (for example 1000 for steps of 0.1%)");
        return (long)rounded;
    }

    private JsonObject BuildCanary(JsonObject stable) =>
        NginxCanaryIngress.Build(stable, CanaryIngressName, options.Namespace, options.Rollout, options.Service, options.CanaryService, Total);

    private void RequireHonouredTotal()
    {
        if (Total < NginxAnnotations.DefaultTotal)
            throw new TrafficRoutingException("NginxWeightTotalIgnored", "spec.nginx.weightTotal: " + NginxAnnotations.TotalIgnoredMessage(Total), CanaryRef);
    }

    private void RequireOurs(JsonObject canary)
    {
        if (Ownership.CreatedBy(canary, options.Rollout)) return;
        var owner = canary["metadata"]?["annotations"]?[Ownership.CreatedByAnnotation]?.GetValue<string>();
        throw new TrafficRoutingException("NginxCanaryIngressNotOurs",
            $"spec.nginx.canaryIngress: {CanaryRef} already exists and was not created by this rollout ({(owner is null ? "no " + Ownership.CreatedByAnnotation + " annotation" : "it belongs to rollout " + owner)}); " +
            "Kubestead creates the canary Ingress itself: remove that Ingress or choose another name in spec.nginx.canaryIngress", CanaryRef, KubesteadErrorKind.Conflict);
    }

    private const string RouteAnnotationPrefix = "kubestead.io/header-route.";

    private static string RouteAnnotation(string name) => RouteAnnotationPrefix + name;

    private static string Pointer(string annotation) => "/metadata/annotations/" + JsonPatchApplier.Escape(annotation);

    private static JsonPatchOperation Set(string annotation, string value) => JsonPatchOperation.Add(Pointer(annotation), value);

    private static string Format(double d) => d.ToString("0.####", CultureInfo.InvariantCulture);

    private Task<JsonObject> GetStableAsync(CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, ResourceType.Ingress, options.Namespace, options.Ingress, "spec.nginx.ingress", ct);

    private Task<JsonObject?> TryGetCanaryAsync(CancellationToken ct) =>
        ObjectLookup.TryGetAsync(api, ResourceType.Ingress, options.Namespace, CanaryIngressName, ct);

    private Task<JsonObject> GetCanaryAsync(CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, ResourceType.Ingress, options.Namespace, CanaryIngressName, "spec.nginx.canaryIngress", ct, KubesteadErrorKind.InvalidState);
}
