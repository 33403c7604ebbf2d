using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

public sealed record SmiRouterOptions(
    string Namespace,
    string Rollout,
    string Service,
    string CanaryService,
    IReadOnlyDictionary<string, string> CanaryPodLabels,
    string? TrafficSplit = null,
    string ApiVersion = "v1alpha2",
    string? BaselineService = null,
    IReadOnlyDictionary<string, string>? BaselinePodLabels = null)
{
    /// <summary>Stable's Deployment; when set, validation checks that the stable Service selects its pods and no canary or baseline pod.</summary>
    public string? StableDeployment { get; init; }
}

/// <summary>
/// Linkerd 2.4-2.11 through an SMI TrafficSplit on the root Service: per-backend weights (v1alpha1 as quantities such as
/// "500m", later versions as integers). Header routes need HTTPRouteGroups and are not offered here. With a created
/// baseline a third backend (the baseline Service, selecting the baseline pods) gets the canary's share, taken from stable.
/// </summary>
public sealed class SmiRouter(IKubernetesApi api, SmiRouterOptions options) : ITrafficRouter
{
    private readonly CanaryService _canaryService = new(api, options.Namespace, options.Rollout, options.Service, options.CanaryService, options.CanaryPodLabels,
        stableDeployment: options.StableDeployment);

    private readonly CanaryService? _baselineService = options.BaselineService is { } baseline
        ? new(api, options.Namespace, options.Rollout, options.Service, baseline, options.BaselinePodLabels ?? new Dictionary<string, string>(),
            stableDeployment: options.StableDeployment)
        : null;

    public string Provider => "smi";

    private string SplitName => options.TrafficSplit ?? options.Service;
    private ResourceType SplitType => new("split.smi-spec.io", options.ApiVersion, "trafficsplits", "TrafficSplit");
    private ObjectReference SplitRef => new(SplitType, options.Namespace, SplitName);
    private bool Quantities => options.ApiVersion == "v1alpha1";

    public Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default) =>
        Task.FromResult(new RoutingPrecision(0.01, 0.01, "TrafficSplit weights are relative: shares down to 0.01%"));

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        await _canaryService.ValidateAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.ValidateAsync(ct).ConfigureAwait(false);
        if (await TryGetAsync(ct).ConfigureAwait(false) is { } split) Indices(split);
        await _canaryService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        await _canaryService.EnsureAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.EnsureAsync(ct).ConfigureAwait(false);
        var split = await TryGetAsync(ct).ConfigureAwait(false);
        if (split is null)
        {
            try
            {
                await api.CreateAsync(SplitType, options.Namespace, new JsonObject
                {
                    ["apiVersion"] = SplitType.ApiVersion,
                    ["kind"] = "TrafficSplit",
                    ["metadata"] = Ownership.Metadata(SplitName, options.Namespace, options.Rollout),
                    ["spec"] = new JsonObject
                    {
                        ["service"] = options.Service,
                        ["backends"] = options.BaselineService is { } baseline
                            ? new JsonArray(Backend(options.Service, 100, 100), Backend(options.CanaryService, 0, 100), Backend(baseline, 0, 100))
                            : new JsonArray(Backend(options.Service, 100, 100), Backend(options.CanaryService, 0, 100)),
                    },
                }, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsAlreadyExists)
            {
            }
            return;
        }
        var (_, canary) = Indices(split);
        var baselineMissing = options.BaselineService is not null && BaselineIndex(split) < 0;
        var marked = split["metadata"]?["annotations"]?[CanaryAddedAnnotation] is not null;
        if (canary >= 0 && !baselineMissing && marked) return;
        var ops = new List<JsonPatchOperation> { Ownership.PinVersion(split) };
        if (canary < 0) ops.Add(JsonPatchOperation.Add("/spec/backends/-", Backend(options.CanaryService, 0, 100)));
        if (baselineMissing) ops.Add(JsonPatchOperation.Add("/spec/backends/-", Backend(options.BaselineService!, 0, 100)));
        // Whether the canary backend is Kubestead's, written with the first preparation: a user's split that already had one
        // (Argo Rollouts' shape) keeps it at clean-up; the map exists after the first of these annotations.
        var marks = new List<(string Key, string Value)>();
        if (!marked) marks.Add((CanaryAddedAnnotation, canary < 0 ? "true" : "false"));
        if (baselineMissing) marks.Add((BaselineAddedAnnotation, "true"));
        for (var i = 0; i < marks.Count; i++)
            ops.AddRange(i == 0 ? Ownership.SetAnnotation(split, marks[i].Key, marks[i].Value)
                : [JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(marks[i].Key), marks[i].Value)]);
        await api.PatchAsync(SplitType, options.Namespace, SplitName, new JsonPatch(ops), ct).ConfigureAwait(false);
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default) => Read(await GetAsync(ct).ConfigureAwait(false));

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var split = await GetAsync(ct).ConfigureAwait(false);
        await api.PatchAsync(SplitType, options.Namespace, SplitName, BuildWeightPatch(split, percent), ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var split = await GetAsync(ct).ConfigureAwait(false);
        var p = percent.ToString("0.###", CultureInfo.InvariantCulture);
        return [new PlannedWrite(SplitRef, "patch", JsonPatch.MediaType, BuildWeightPatch(split, percent).ToJson(),
            $"set the backend weights of {SplitRef} to canary {p}%" +
            (options.BaselineService is { } b ? $", {b} {Math.Max(0, Math.Min(percent, 100 - percent)).ToString("0.###", CultureInfo.InvariantCulture)}% (baseline)" : ""))];
    }

    internal JsonPatch BuildWeightPatch(JsonObject split, double percent)
    {
        var (s, c) = RelativeWeights.For(percent);
        var (si, ci) = Indices(split);
        if (ci < 0)
            throw new TrafficRoutingException("TrafficSplitMissingCanary", $"{SplitRef}: spec.backends has no '{options.CanaryService}'", SplitRef, KubesteadErrorKind.InvalidState);
        var ops = new List<JsonPatchOperation>
        {
            Ownership.PinVersion(split),
            JsonPatchOperation.Test($"/spec/backends/{si}/service", options.Service),
            JsonPatchOperation.Test($"/spec/backends/{ci}/service", options.CanaryService),
        };
        var b = 0;
        var bi = -1;
        // Traffic back to stable needs no baseline backend (clean-up may already have removed it).
        if (options.BaselineService is { } baseline && !(percent == 0 && BaselineIndex(split) < 0))
        {
            bi = BaselineIndex(split);
            if (bi < 0)
                throw new TrafficRoutingException("TrafficSplitMissingBaseline", $"{SplitRef}: spec.backends has no '{baseline}'; run the rollout's preparation first", SplitRef, KubesteadErrorKind.InvalidState);
            // The baseline gets the canary's share (as far as 100% allows), taken from stable: 10% is 80:10:10.
            b = Math.Min(c, s);
            s -= b;
            ops.Add(JsonPatchOperation.Test($"/spec/backends/{bi}/service", baseline));
        }
        var total = s + c + b;
        ops.Add(JsonPatchOperation.Add($"/spec/backends/{si}/weight", Weight(s, total)));
        ops.Add(JsonPatchOperation.Add($"/spec/backends/{ci}/weight", Weight(c, total)));
        if (bi >= 0) ops.Add(JsonPatchOperation.Add($"/spec/backends/{bi}/weight", Weight(b, total)));
        return new JsonPatch(ops);
    }

    public Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default) =>
        throw new TrafficRoutingException("HeaderRoutesNotSupported",
            route.Cookie is null
                ? $"header route '{route.Name}': SMI TrafficSplit routes by weight only; use Linkerd 2.12+ HTTPRoutes (meshProvider: linkerd) for header routes"
                : $"header route '{route.Name}' (cookie {route.Cookie.Name}): SMI TrafficSplit routes by weight only and cannot match cookies; use Linkerd 2.12+ HTTPRoutes (meshProvider: linkerd) or Istio");

    public Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default) => Task.CompletedTask;

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        if (await TryGetAsync(ct).ConfigureAwait(false) is { } split)
        {
            if (Ownership.CreatedBy(split, options.Rollout))
            {
                try
                {
                    await api.DeleteAsync(SplitType, options.Namespace, SplitName, new DeleteOptions(PreconditionUid: split["metadata"]?["uid"]?.GetValue<string>()), ct).ConfigureAwait(false);
                }
                catch (KubernetesApiException e) when (e.IsNotFound)
                {
                }
            }
            else
            {
                // Drop the canary and baseline backends Kubestead added (higher index first, so the lower one still points where
                // its test says); one the user's split already had stays, at weight 0. A split prepared before the marks
                // existed has none: its backends were Kubestead's.
                var (_, canary) = Indices(split);
                var annotations = split["metadata"]?["annotations"];
                var canaryMark = annotations?[CanaryAddedAnnotation]?.GetValue<string>();
                var removals = new List<(int Index, string Name)>();
                if (canary >= 0 && canaryMark != "false") removals.Add((canary, options.CanaryService));
                if (BaselineIndex(split) is >= 0 and var b && (canaryMark is null || annotations?[BaselineAddedAnnotation] is not null))
                    removals.Add((b, options.BaselineService!));
                var ops = new List<JsonPatchOperation> { Ownership.PinVersion(split) };
                ops.AddRange(Ownership.RemoveAnnotation(split, CanaryAddedAnnotation));
                ops.AddRange(Ownership.RemoveAnnotation(split, BaselineAddedAnnotation));
                foreach (var (index, name) in removals.OrderByDescending(x => x.Index))
                {
                    ops.Add(JsonPatchOperation.Test($"/spec/backends/{index}/service", name));
                    ops.Add(JsonPatchOperation.Remove($"/spec/backends/{index}"));
                }
                if (ops.Count > 1) await api.PatchAsync(SplitType, options.Namespace, SplitName, new JsonPatch(ops), ct).ConfigureAwait(false);
            }
        }
        await _canaryService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
        if (_baselineService is not null) await _baselineService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        foreach (var service in new[] { options.CanaryService, options.BaselineService })
            if (await AddedObjectDrift.ServiceAsync(api, options.Namespace, service, ct).ConfigureAwait(false) is { } gone) return gone;
        if (await TryGetAsync(ct).ConfigureAwait(false) is not { } split)
            return AddedObjectDrift.Missing(SplitRef, "(the whole object)", null, trafficAtRisk: false);
        var (_, ci) = Indices(split);
        if (ci < 0) return AddedObjectDrift.Missing(SplitRef, $"/spec/backends (backend '{options.CanaryService}')", split, trafficAtRisk: false);
        if (options.BaselineService is { } baseline && BaselineIndex(split) < 0)
            return AddedObjectDrift.Missing(SplitRef, $"/spec/backends (backend '{baseline}')", split, trafficAtRisk: false);
        var now = Read(split);
        if (Math.Abs(now.CanaryPercent - lastWritten.CanaryPercent) < 1e-6) return null;
        return new DriftReport(SplitRef,
            [new FieldDrift($"/spec/backends/{ci}/weight", lastWritten.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%",
                now.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%")],
            Ownership.GitOpsController(split));
    }

    /// <summary>"true" when Kubestead added the canary backend (clean-up removes it), "false" when the split had one.</summary>
    internal const string CanaryAddedAnnotation = "kubestead.io/canary-backend-added";

    /// <summary>Set when Kubestead added the baseline backend.</summary>
    internal const string BaselineAddedAnnotation = "kubestead.io/baseline-backend-added";

    private JsonNode Weight(int part, int total) => Quantities
        ? JsonValue.Create($"{(long)part * 1000 / total}m")!
        : JsonValue.Create(part)!;

    private JsonObject Backend(string service, int part, int total) => new() { ["service"] = service, ["weight"] = Weight(part, total) };

    private TrafficSplit Read(JsonObject split)
    {
        var backends = (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
        var weights = backends.Select(b => new BackendWeight(b["service"]?.GetValue<string>() ?? "?", ParseWeight(b["weight"]))).ToList();
        var total = weights.Sum(w => w.Weight);
        double Share(string svc) => total == 0 ? 0 : 100 * weights.Where(w => w.Backend == svc).Sum(w => w.Weight) / total;
        return new TrafficSplit(Share(options.Service), Share(options.CanaryService), weights, SplitRef.ToString());
    }

    internal static double ParseWeight(JsonNode? w)
    {
        if (w is null) return 0;
        if (w is JsonValue v && v.TryGetValue<double>(out var d)) return d;
        var s = w.ToString();
        return s.EndsWith('m') ? double.Parse(s[..^1], CultureInfo.InvariantCulture) / 1000 : double.Parse(s, CultureInfo.InvariantCulture);
    }

    private (int Stable, int Canary) Indices(JsonObject split)
    {
        if (split["spec"]?["service"]?.GetValue<string>() is { } root && root != options.Service)
            throw new TrafficRoutingException("TrafficSplitWrongService", $"{SplitRef}: spec.service is '{root}', not '{options.Service}'{SmiSplitAdoption.Advice(split)}", SplitRef);
        var names = (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).Select(b => b?["service"]?.GetValue<string>()).ToList();
        var others = names.Where(n => n != options.Service && n != options.CanaryService && (options.BaselineService is null || n != options.BaselineService)).ToList();
        if (others.Count > 0)
            throw new TrafficRoutingException("TrafficSplitForeignBackends",
                $"{SplitRef}: spec.backends also names {string.Join(", ", others)}; Kubestead manages splits between '{options.Service}' and '{options.CanaryService}' only" +
                SmiSplitAdoption.Advice(split), SplitRef);
        var s = names.IndexOf(options.Service);
        if (s < 0) throw new TrafficRoutingException("TrafficSplitMissingStable", $"{SplitRef}: spec.backends has no '{options.Service}'", SplitRef);
        return (s, names.IndexOf(options.CanaryService));
    }

    /// <summary>Where spec.backends names the baseline Service, or -1 (also without a baseline).</summary>
    private int BaselineIndex(JsonObject split) => options.BaselineService is { } baseline
        ? (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).Select(b => b?["service"]?.GetValue<string>()).ToList().IndexOf(baseline)
        : -1;

    private Task<JsonObject?> TryGetAsync(CancellationToken ct) => ObjectLookup.TryGetAsync(api, SplitType, options.Namespace, SplitName, ct);

    private Task<JsonObject> GetAsync(CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, SplitType, options.Namespace, SplitName, "spec.smi.trafficSplit", ct, KubesteadErrorKind.InvalidState);
}
