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
    string ApiVersion = "v1alpha2");

/// <summary>
/// Linkerd 2.4-2.11 through an SMI TrafficSplit on the root Service: per-backend weights (v1alpha1 as quantities such as
/// "500m", later versions as integers). Header routes need HTTPRouteGroups and are not offered here.
/// </summary>
public sealed class SmiRouter(IKubernetesApi api, SmiRouterOptions options) : ITrafficRouter
{
    private readonly CanaryService _canaryService = new(api, options.Namespace, options.Rollout, options.Service, options.CanaryService, options.CanaryPodLabels);

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
        if (await TryGetAsync(ct).ConfigureAwait(false) is { } split) Indices(split);
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        await _canaryService.EnsureAsync(ct).ConfigureAwait(false);
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
                        ["backends"] = new JsonArray(Backend(options.Service, 100, 100), Backend(options.CanaryService, 0, 100)),
                    },
                }, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsAlreadyExists)
            {
            }
            return;
        }
        var (_, canary) = Indices(split);
        if (canary >= 0) return;
        await api.PatchAsync(SplitType, options.Namespace, SplitName, new JsonPatch([
            Ownership.PinVersion(split),
            JsonPatchOperation.Add("/spec/backends/-", Backend(options.CanaryService, 0, 100)),
        ]), ct).ConfigureAwait(false);
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
        return [new PlannedWrite(SplitRef, "patch", JsonPatch.MediaType, BuildWeightPatch(split, percent).ToJson(),
            $"set the backend weights of {SplitRef} to canary {percent.ToString("0.###", CultureInfo.InvariantCulture)}%")];
    }

    internal JsonPatch BuildWeightPatch(JsonObject split, double percent)
    {
        var (s, c) = RelativeWeights.For(percent);
        var (si, ci) = Indices(split);
        if (ci < 0)
            throw new TrafficRoutingException("TrafficSplitMissingCanary", $"{SplitRef}: spec.backends has no '{options.CanaryService}'", SplitRef, KubesteadErrorKind.InvalidState);
        var total = s + c;
        return new JsonPatch([
            Ownership.PinVersion(split),
            JsonPatchOperation.Test($"/spec/backends/{si}/service", options.Service),
            JsonPatchOperation.Test($"/spec/backends/{ci}/service", options.CanaryService),
            JsonPatchOperation.Add($"/spec/backends/{si}/weight", Weight(s, total)),
            JsonPatchOperation.Add($"/spec/backends/{ci}/weight", Weight(c, total)),
        ]);
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
            else if (Indices(split) is (_, >= 0) idx)
            {
                await api.PatchAsync(SplitType, options.Namespace, SplitName, new JsonPatch([
                    Ownership.PinVersion(split),
                    JsonPatchOperation.Test($"/spec/backends/{idx.Canary}/service", options.CanaryService),
                    JsonPatchOperation.Remove($"/spec/backends/{idx.Canary}"),
                ]), ct).ConfigureAwait(false);
            }
        }
        await _canaryService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, CancellationToken ct = default)
    {
        var split = await GetAsync(ct).ConfigureAwait(false);
        var now = Read(split);
        if (Math.Abs(now.CanaryPercent - lastWritten.CanaryPercent) < 1e-6) return null;
        var (_, ci) = Indices(split);
        return new DriftReport(SplitRef,
            [new FieldDrift($"/spec/backends/{ci}/weight", lastWritten.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%",
                now.CanaryPercent.ToString("0.###", CultureInfo.InvariantCulture) + "%")],
            Ownership.GitOpsController(split));
    }

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
            throw new TrafficRoutingException("TrafficSplitWrongService", $"{SplitRef}: spec.service is '{root}', not '{options.Service}'", SplitRef);
        var names = (split["spec"]?["backends"] as JsonArray ?? new JsonArray()).Select(b => b?["service"]?.GetValue<string>()).ToList();
        var others = names.Where(n => n != options.Service && n != options.CanaryService).ToList();
        if (others.Count > 0)
            throw new TrafficRoutingException("TrafficSplitForeignBackends",
                $"{SplitRef}: spec.backends also names {string.Join(", ", others)}; Kubestead manages splits between '{options.Service}' and '{options.CanaryService}' only", SplitRef);
        var s = names.IndexOf(options.Service);
        if (s < 0) throw new TrafficRoutingException("TrafficSplitMissingStable", $"{SplitRef}: spec.backends has no '{options.Service}'", SplitRef);
        return (s, names.IndexOf(options.CanaryService));
    }

    private Task<JsonObject?> TryGetAsync(CancellationToken ct) => ObjectLookup.TryGetAsync(api, SplitType, options.Namespace, SplitName, ct);

    private Task<JsonObject> GetAsync(CancellationToken ct) =>
        ObjectLookup.RequireAsync(api, SplitType, options.Namespace, SplitName, "spec.smi.trafficSplit", ct, KubesteadErrorKind.InvalidState);
}
