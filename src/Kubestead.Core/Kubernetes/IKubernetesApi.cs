using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>
/// The narrow Kubernetes API surface Kubestead uses. Objects travel as <see cref="JsonObject"/> so custom
/// resources (Istio, Linkerd, Gateway API, SMI) keep every field byte-for-byte. One implementation talks to a real API
/// server through the official KubernetesClient (<see cref="KubernetesClientAdapter"/>); the sandbox has an in-process one.
/// Every failure is a <see cref="KubernetesApiException"/>.
/// </summary>
public interface IKubernetesApi
{
    /// <summary>The namespace of the kubeconfig context (or the service account), used when a caller gives none.</summary>
    string DefaultNamespace { get; }

    Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default);

    Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default);

    Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default);

    /// <summary>PUT; when <c>metadata.resourceVersion</c> is set the server rejects a stale object with Conflict.</summary>
    Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default);

    /// <summary>One PATCH request. A 409 Conflict (or a failed JSON Patch <c>test</c>) is returned to the caller, never retried.</summary>
    Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default);

    Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default);

    /// <summary>Reads a subresource such as <c>scale</c> or <c>status</c>.</summary>
    Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default);

    /// <summary>Writes a subresource such as <c>scale</c> or <c>status</c> (PUT).</summary>
    Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default);

    /// <summary>Patches a subresource such as <c>scale</c> or <c>status</c>.</summary>
    Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default);

    /// <summary>
    /// Watches changes from <see cref="WatchOptions.ResourceVersion"/> (or from a fresh list when none). Resumes after
    /// dropped connections from the last seen resourceVersion; when the server answers 410 Gone it relists and
    /// yields the current objects as <see cref="WatchEventType.Added"/> before continuing.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default);

    /// <summary>The groups, versions and resources the server serves (to detect Istio, Linkerd, Gateway API, SMI).</summary>
    Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default);
}

public sealed record ListOptions(
    string? LabelSelector = null,
    string? FieldSelector = null,
    int? Limit = null,
    string? Continue = null);

public sealed record ObjectList(IReadOnlyList<JsonObject> Items, string? ResourceVersion, string? Continue);

public sealed record DeleteOptions(
    string? PreconditionUid = null,
    string? PreconditionResourceVersion = null,
    string PropagationPolicy = "Background");

public sealed record WatchOptions(
    string? LabelSelector = null,
    string? ResourceVersion = null,
    TimeSpan? Timeout = null);

public enum WatchEventType { Added, Modified, Deleted, Bookmark, Error }

public sealed record WatchEvent(WatchEventType Type, JsonObject Object);

/// <summary>What the server serves: every (group, version, resource).</summary>
public sealed class ApiDiscovery
{
    public ApiDiscovery(IEnumerable<ResourceType> resources) => Resources = resources.ToList();

    public IReadOnlyList<ResourceType> Resources { get; }

    public bool Serves(string group, string plural) =>
        Resources.Any(r => r.Group == group && r.Plural == plural);

    public bool Serves(string group, string version, string plural) =>
        Resources.Any(r => r.Group == group && r.Version == version && r.Plural == plural);

    /// <summary>The versions served for a group/resource, in the order the server lists them (preferred first).</summary>
    public IReadOnlyList<string> VersionsOf(string group, string plural) =>
        Resources.Where(r => r.Group == group && r.Plural == plural).Select(r => r.Version).Distinct().ToList();

    public ResourceType? Find(string group, string version, string plural) =>
        Resources.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);
}
