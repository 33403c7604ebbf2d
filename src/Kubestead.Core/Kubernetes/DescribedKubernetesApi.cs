using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>
/// Puts into words what each failed API request was doing ("creating the TrafficSplit checkout-service
/// (split.smi-spec.io/v1alpha2): the cluster does not serve this version; it serves v1alpha4"), so a user never sees
/// a bare "HTTP 404". It wraps whichever client sits behind the port, so the wording survives a change of client.
/// The exception keeps its status, reason, target and causes, so callers' <c>IsNotFound</c>-style checks still work.
/// </summary>
public sealed class DescribedKubernetesApi(IKubernetesApi inner) : IKubernetesApi, IAsyncDisposable
{
    /// <summary>What kube-apiserver answers for a path it does not serve at all (unknown group, version or resource).</summary>
    internal const string UnservedPathMessage = "the server could not find the requested resource";

    public IKubernetesApi Inner { get; } = inner;

    public string DefaultNamespace => Inner.DefaultNamespace;

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) =>
        Run("reading", type, ns, name, collection: false, () => Inner.GetAsync(type, ns, name, ct), ct);

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) =>
        Run("listing", type, ns, null, collection: true, () => Inner.ListAsync(type, ns, options, ct), ct);

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
        Run("creating", type, ns, obj["metadata"]?["name"]?.GetValue<string>(), collection: true, () => Inner.CreateAsync(type, ns, obj, ct), ct);

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) =>
        Run("replacing", type, ns, name, collection: false, () => Inner.ReplaceAsync(type, ns, name, obj, ct), ct);

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        Run("patching", type, ns, name, collection: false, () => Inner.PatchAsync(type, ns, name, patch, ct), ct);

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) =>
        Run("deleting", type, ns, name, collection: false, async () =>
        {
            await Inner.DeleteAsync(type, ns, name, options, ct).ConfigureAwait(false);
            return true;
        }, ct);

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        Run($"reading the {subresource} of", type, ns, name, collection: false, () => Inner.GetSubresourceAsync(type, ns, name, subresource, ct), ct);

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        Run($"writing the {subresource} of", type, ns, name, collection: false, () => Inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct), ct);

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        Run($"patching the {subresource} of", type, ns, name, collection: false, () => Inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct), ct);

    // A watch's failures surface while it is enumerated, far from any single request; it stays as the client reports it.
    public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) =>
        Inner.WatchAsync(type, ns, options, ct);

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => Inner.DiscoverAsync(ct);

    public ValueTask DisposeAsync() => (Inner as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task<T> Run<T>(string doing, ResourceType type, string? ns, string? name, bool collection, Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e is not DescribedApiException)
        {
            var what = $"{doing} the {type.Kind}{(name is null ? "s" : " " + name)} ({type.ApiVersion}){(ns is null ? "" : " in namespace " + ns)}";
            var why = await ExplainAsync(e, type, ns, collection, ct).ConfigureAwait(false);
            throw new DescribedApiException(e, $"{what}: {why}", e.Target ?? (name is null ? null : new ObjectReference(type, ns, name)));
        }
    }

    private async Task<string> ExplainAsync(KubernetesApiException e, ResourceType type, string? ns, bool collection, CancellationToken ct)
    {
        if (e.IsNotFound && (collection || e.Message.Contains(UnservedPathMessage, StringComparison.Ordinal)))
        {
            // A 404 on a collection (or the server's "no such path") means the API is missing, not the object: say which
            // versions the cluster does serve so the user can fix the spec.
            if (await UnservedExplanationAsync(type, ct).ConfigureAwait(false) is { } unserved) return unserved;
            if (collection && ns is not null) return $"namespace {ns} does not exist ({e.Message})";
        }
        return e switch
        {
            { IsNotFound: true } => $"it does not exist ({e.Message})",
            { IsAlreadyExists: true } => $"it already exists ({e.Message})",
            { IsConflict: true } => $"it was changed by someone else in between ({e.Message})",
            { StatusCode: 403 } => $"permission denied ({e.Message})",
            { StatusCode: 401 } => $"the cluster did not accept the credentials ({e.Message})",
            { IsInvalid: true } => $"the cluster rejected it ({e.Message})",
            { StatusCode: 0 } => $"no answer from the API server ({e.Message})",
            _ => e.Message,
        };
    }

    /// <summary>Null when the cluster serves this exact type (or discovery itself fails).</summary>
    private async Task<string?> UnservedExplanationAsync(ResourceType type, CancellationToken ct)
    {
        ApiDiscovery discovery;
        try
        {
            discovery = await Inner.DiscoverAsync(ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException)
        {
            return null;
        }
        if (discovery.Serves(type.Group, type.Version, type.Plural)) return null;
        var versions = discovery.VersionsOf(type.Group, type.Plural);
        return versions.Count == 0
            ? $"the cluster does not serve {type.QualifiedName} in any version (is its CRD installed?)"
            : $"the cluster does not serve this version; it serves {string.Join(", ", versions)}";
    }
}
