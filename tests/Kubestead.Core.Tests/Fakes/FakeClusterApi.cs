using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Core.Tests.Fakes;

/// <summary>
/// A small in-memory API server for engine unit tests: resourceVersion, 404/409/422 like kube-apiserver, JSON and
/// merge patches, label-equality selectors, the scale subresource, a request log, and "fail the next write" faults.
/// </summary>
public sealed class FakeClusterApi : IKubernetesApi
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Type, string? Ns, string Name), JsonObject> _objects = new();
    private long _version = 100;

    public string DefaultNamespace => "default";

    public List<string> Log { get; } = new();

    /// <summary>Writes (create, update, patch, delete) that fail before being applied, matched by verb and plural.</summary>
    public Queue<(string Verb, string Plural)> FailNextWrites { get; } = new();

    public IEnumerable<string> Writes => Log.Where(l => !l.StartsWith("GET", StringComparison.Ordinal) && !l.StartsWith("LIST", StringComparison.Ordinal));

    public JsonObject Seed(ResourceType type, JsonObject obj)
    {
        lock (_gate)
        {
            var ns = type.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? DefaultNamespace : null;
            var stored = Stamp(obj.DeepClone().AsObject(), ns);
            _objects[(type.QualifiedName, ns, Name(obj))] = stored;
            return stored.DeepClone().AsObject();
        }
    }

    public JsonObject? Peek(ResourceType type, string? ns, string name)
    {
        lock (_gate) return _objects.TryGetValue((type.QualifiedName, ns, name), out var o) ? o.DeepClone().AsObject() : null;
    }

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"GET {type.Plural}/{name}");
            return Task.FromResult(Find(type, ns, name).DeepClone().AsObject());
        }
    }

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"LIST {type.Plural}");
            var selector = (options?.LabelSelector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s.Split('=')).ToList();
            var items = _objects.Where(kv => kv.Key.Type == type.QualifiedName && (ns is null || kv.Key.Ns == ns))
                .Select(kv => kv.Value)
                .Where(o => selector.All(s => o["metadata"]?["labels"]?[s[0]]?.GetValue<string>() == s[1]))
                .Select(o => o.DeepClone().AsObject()).ToList();
            return Task.FromResult(new ObjectList(items, _version.ToString(), null));
        }
    }

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"CREATE {type.Plural}/{Name(obj)}");
            MaybeFail("create", type);
            var key = (type.QualifiedName, ns, Name(obj));
            if (_objects.ContainsKey(key))
                throw new KubernetesApiException(409, StatusReason.AlreadyExists, $"{type.QualifiedName} \"{Name(obj)}\" already exists",
                    new ObjectReference(type, ns, Name(obj)));
            var stored = Stamp(obj.DeepClone().AsObject(), ns);
            _objects[key] = stored;
            return Task.FromResult(stored.DeepClone().AsObject());
        }
    }

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"UPDATE {type.Plural}/{name}");
            MaybeFail("update", type);
            var current = Find(type, ns, name);
            var rv = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (rv is not null && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            var stored = Stamp(obj.DeepClone().AsObject(), ns, current);
            _objects[(type.QualifiedName, ns, name)] = stored;
            return Task.FromResult(stored.DeepClone().AsObject());
        }
    }

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"PATCH {type.Plural}/{name}");
            MaybeFail("patch", type);
            var current = Find(type, ns, name);
            JsonObject patched;
            try
            {
                patched = patch switch
                {
                    JsonPatch jp => jp.Apply(current).AsObject(),
                    MergePatch mp => mp.Apply(current)!.AsObject(),
                    _ => throw new NotSupportedException(patch.ContentType),
                };
            }
            catch (JsonPatchException e)
            {
                throw new KubernetesApiException(422, StatusReason.Invalid, e.Message, new ObjectReference(type, ns, name));
            }
            var stored = Stamp(patched, ns, current);
            _objects[(type.QualifiedName, ns, name)] = stored;
            return Task.FromResult(stored.DeepClone().AsObject());
        }
    }

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"DELETE {type.Plural}/{name}");
            MaybeFail("delete", type);
            var current = Find(type, ns, name);
            if (options?.PreconditionResourceVersion is { } rv && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            if (options?.PreconditionUid is { } uid && uid != current["metadata"]!["uid"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            _objects.Remove((type.QualifiedName, ns, name));
            return Task.CompletedTask;
        }
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"GET {type.Plural}/{name}/{subresource}");
            var d = Find(type, ns, name);
            return Task.FromResult(subresource == "scale"
                ? new JsonObject { ["spec"] = new JsonObject { ["replicas"] = d["spec"]?["replicas"]?.GetValue<int>() ?? 1 } }
                : new JsonObject { ["status"] = d["status"]?.DeepClone() });
        }
    }

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        PatchSubresourceAsync(type, ns, name, subresource, new MergePatch(obj), ct);

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Log.Add($"PATCH {type.Plural}/{name}/{subresource}");
            MaybeFail("patch", type);
            var d = Find(type, ns, name);
            var body = ((MergePatch)patch).Body;
            if (subresource == "scale")
            {
                var replicas = body["spec"]!["replicas"]!.GetValue<int>();
                d["spec"]!["replicas"] = replicas;
                // Pods in this fake become ready at once.
                d["status"] = new JsonObject
                {
                    ["replicas"] = replicas, ["readyReplicas"] = replicas, ["availableReplicas"] = replicas,
                    ["updatedReplicas"] = replicas, ["observedGeneration"] = (d["metadata"]?["generation"]?.GetValue<long>() ?? 1) + 1,
                };
            }
            var stored = Stamp(d, ns, d);
            _objects[(type.QualifiedName, ns, name)] = stored;
            return Task.FromResult(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = stored["spec"]?["replicas"]?.DeepClone() } });
        }
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.Yield();
        throw new NotSupportedException("FakeClusterApi does not watch; use the sandbox for watch tests");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) =>
        Task.FromResult(new ApiDiscovery([ResourceType.ConfigMap, ResourceType.Deployment, ResourceType.Lease, ResourceType.Service]));

    private JsonObject Find(ResourceType type, string? ns, string name) =>
        _objects.TryGetValue((type.QualifiedName, ns, name), out var o)
            ? o
            : throw new KubernetesApiException(404, StatusReason.NotFound, $"{type.QualifiedName} \"{name}\" not found", new ObjectReference(type, ns, name));

    private void MaybeFail(string verb, ResourceType type)
    {
        if (FailNextWrites.Count > 0 && FailNextWrites.Peek() is var (v, p) && v == verb && p == type.Plural)
        {
            FailNextWrites.Dequeue();
            throw new KubernetesApiException(503, StatusReason.ServiceUnavailable, "injected failure");
        }
    }

    private JsonObject Stamp(JsonObject obj, string? ns, JsonObject? previous = null)
    {
        var md = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = md;
        if (ns is not null) md["namespace"] = ns;
        md["resourceVersion"] = (++_version).ToString();
        md["uid"] ??= previous?["metadata"]?["uid"]?.DeepClone() ?? Guid.NewGuid().ToString();
        md["generation"] ??= 1;
        return obj;
    }

    private static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("object without metadata.name");

    private static KubernetesApiException Conflict(ResourceType type, string? ns, string name) =>
        new(409, StatusReason.Conflict, $"Operation cannot be fulfilled on {type.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            new ObjectReference(type, ns, name));
}
