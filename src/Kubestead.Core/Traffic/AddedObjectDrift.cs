using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// Drift of the objects and parts Kubestead added for a rollout (issue #25 item 4): a GitOps self-heal or a person can
/// remove them while the route still sends weight there, so every drift check looks for them, not only for the weights.
/// </summary>
public static class AddedObjectDrift
{
    /// <summary>The expected value of a <see cref="FieldDrift"/> for a part Kubestead added that is gone.</summary>
    public const string Present = "present (added by Kubestead)";

    /// <summary>The report for a part that is gone: <paramref name="what"/> says which (a pointer or a description).</summary>
    internal static DriftReport Missing(ObjectReference target, string what, JsonObject? holder, bool trafficAtRisk) =>
        new(target, [new FieldDrift(what, Present, null)], holder is null ? null : Ownership.GitOpsController(holder), trafficAtRisk);

    /// <summary>A Service the route sends weight to, which Kubestead created or checked at start, is gone.</summary>
    internal static async Task<DriftReport?> ServiceAsync(IKubernetesApi api, string ns, string? name, CancellationToken ct)
    {
        if (name is null) return null;
        if (await ObjectLookup.TryGetAsync(api, ResourceType.Service, ns, name, ct).ConfigureAwait(false) is not null) return null;
        return Missing(new ObjectReference(ResourceType.Service, ns, name), "(the whole object)", null, trafficAtRisk: true);
    }

    /// <summary>The first of the header routes a rollout set that <paramref name="present"/> says is gone.</summary>
    internal static DriftReport? HeaderRoutes(ObjectReference target, JsonObject holder, IReadOnlyCollection<string>? headerRoutes, Func<string, bool> present, Func<string, string> describe) =>
        headerRoutes?.FirstOrDefault(n => !present(n)) is { } gone ? Missing(target, describe(gone), holder, trafficAtRisk: false) : null;
}
