using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>
/// The sandbox's in-process cluster: the storage and semantics of an API server (resourceVersion from one global
/// counter, uid, generation bumped on spec changes, creationTimestamp, 404/409/422 as kube-apiserver answers, JSON
/// and merge patches, label selectors, the scale subresource), Deployments whose pods become ready after a delay on
/// the sandbox clock, a request log, fault injection, an external reconciler, and change notifications.
/// The demo and the engine tests use it directly as an <see cref="IKubernetesApi"/>.
/// </summary>
public sealed partial class EmulatedCluster : IKubernetesApi
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Type, string? Ns, string Name), JsonObject> _objects = new();
    private readonly List<Fault> _faults = new();
    private readonly Dictionary<(string? Ns, string Name), (long Generation, DateTimeOffset ReadyAt)> _pendingReady = new();
    private readonly List<(DateTimeOffset Due, ResourceType Type, string? Ns, string Name, JsonPatch? Patch)> _pendingRewrites = new();
    private readonly List<(DateTimeOffset Due, string? Ns, string Name, TimeSpan ReadyAfter)> _pendingReplacements = new();
    private readonly TimeProvider _clock;
    private long _version = 100;

    public EmulatedCluster(TimeProvider? clock = null, TimeSpan? podReadyDelay = null)
    {
        _clock = clock ?? TimeProvider.System;
        PodReadyDelay = podReadyDelay ?? TimeSpan.Zero;
    }

    public string DefaultNamespace { get; init; } = "default";

    /// <summary>
    /// When true, a create in a namespace that does not exist is refused with 404 as kube-apiserver's NamespaceLifecycle
    /// admission does. Off by default so unit tests need not seed namespaces; the sandbox server and the demo turn it on.
    /// </summary>
    public bool RequireNamespaces { get; init; }

    /// <summary>
    /// When true (the default), Deployments become ready on their own as a controller manager would make them. The
    /// differential suite turns it off to compare bare API semantics with a real kube-apiserver, which has no controllers.
    /// </summary>
    public bool EmulateControllers { get; init; } = true;

    /// <summary>How long new Deployment pods take to become ready, on the sandbox clock.</summary>
    public TimeSpan PodReadyDelay { get; }

    /// <summary>Every request: verb (GET, LIST, CREATE, UPDATE, PATCH, DELETE) and resource path.</summary>
    public List<string> Log { get; } = new();

    public IReadOnlyList<string> Writes
    {
        get { lock (_gate) return Log.Where(IsWrite).ToList(); }
    }

    /// <summary>Raised after every successful write with the object's type, its new state (null when deleted) and the verb.</summary>
    public event Action<ResourceType, JsonObject?, string>? Changed;

    /// <summary>Fails the next <paramref name="count"/> requests of <paramref name="verb"/> on <paramref name="plural"/> (and name).
    /// With <paramref name="afterApply"/> the write is applied and then reported as failed (a lost response).</summary>
    public void InjectFault(string verb, string plural, string? name = null, int count = 1, int status = 503, bool afterApply = false)
    {
        lock (_gate) _faults.Add(new Fault(verb.ToUpperInvariant(), plural, name, count, status, afterApply));
    }

    private int _writesSeen;
    private (int Number, bool AfterApply)? _failWrite;

    /// <summary>Makes the <paramref name="number"/>-th write from now fail (before it is applied, or after: a lost response).</summary>
    public void FailWriteNumber(int number, bool afterApply)
    {
        lock (_gate)
        {
            _writesSeen = 0;
            _failWrite = (number, afterApply);
        }
    }

    /// <summary>What Argo CD or Flux would do: after <paramref name="delay"/> on the sandbox clock, rewrite a field.
    /// Like pod readiness, it happens lazily: at the first request after the due time.</summary>
    public void ScheduleExternalRewrite(ResourceType type, string? ns, string name, string jsonPointer, JsonNode? value, TimeSpan delay)
    {
        lock (_gate)
            _pendingRewrites.Add((_clock.GetUtcNow() + delay, type, ns, name, new JsonPatch([JsonPatchOperation.Replace(jsonPointer, value?.DeepClone())])));
    }

    /// <summary>What a GitOps prune or a person would do: after <paramref name="delay"/> on the sandbox clock, delete the object (lazily, like a rewrite).</summary>
    public void ScheduleExternalDelete(ResourceType type, string? ns, string name, TimeSpan delay)
    {
        lock (_gate) _pendingRewrites.Add((_clock.GetUtcNow() + delay, type, ns, name, null));
    }

    /// <summary>
    /// What an eviction, a node drain or a crash does to a Deployment: after <paramref name="after"/> on the sandbox clock
    /// none of its pods is ready (the spec is unchanged), and the replacements are ready <paramref name="readyAfter"/> later.
    /// </summary>
    public void SchedulePodReplacement(string? ns, string name, TimeSpan after, TimeSpan readyAfter)
    {
        lock (_gate) _pendingReplacements.Add((_clock.GetUtcNow() + after, ns, name, readyAfter));
    }

    /// <summary>Replaces the Deployment's pods now (see <see cref="SchedulePodReplacement"/>).</summary>
    public void ReplacePods(string? ns, string name, TimeSpan readyAfter)
    {
        SchedulePodReplacement(ns, name, TimeSpan.Zero, readyAfter);
        Materialize();
    }

    /// <summary>Applies what the cluster's controllers would have done by now: pods becoming ready, external rewrites.</summary>
    private List<(ResourceType, JsonObject)> Tick()
    {
        var changed = new List<(ResourceType, JsonObject)>();
        var now = _clock.GetUtcNow();
        foreach (var replacement in _pendingReplacements.Where(r => r.Due <= now).ToList())
        {
            _pendingReplacements.Remove(replacement);
            if (!_objects.TryGetValue((ResourceType.Deployment.QualifiedName, replacement.Ns, replacement.Name), out var d)) continue;
            var generation = d["metadata"]?["generation"]?.GetValue<long>() ?? 1;
            var replicas = d["spec"]?["replicas"]?.GetValue<int>() ?? 1;
            d["status"] = new JsonObject
            {
                ["observedGeneration"] = generation,
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = 0,
                ["availableReplicas"] = 0,
                ["unavailableReplicas"] = replicas,
            };
            d["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
            RecordHistory(ResourceType.Deployment, replacement.Ns, WatchEventType.Modified, d);
            changed.Add((ResourceType.Deployment, d.DeepClone().AsObject()));
            _pendingReady[(replacement.Ns, replacement.Name)] = (generation, replacement.Due + replacement.ReadyAfter);
        }
        foreach (var ((ns, name), (generation, readyAt)) in _pendingReady.ToList())
        {
            if (readyAt > now) continue;
            _pendingReady.Remove((ns, name));
            if (_objects.TryGetValue((ResourceType.Deployment.QualifiedName, ns, name), out var d) && d["metadata"]?["generation"]?.GetValue<long>() == generation)
            {
                d["status"] = JsonNode.Parse(ReadyStatus(d["spec"]?["replicas"]?.GetValue<int>() ?? 1, generation).ToJsonString());
                d["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                RecordHistory(ResourceType.Deployment, ns, WatchEventType.Modified, d);
                changed.Add((ResourceType.Deployment, d.DeepClone().AsObject()));
            }
        }
        foreach (var rewrite in _pendingRewrites.Where(r => r.Due <= now).ToList())
        {
            _pendingRewrites.Remove(rewrite);
            if (!_objects.TryGetValue((rewrite.Type.QualifiedName, rewrite.Ns, rewrite.Name), out var current)) continue;
            if (rewrite.Patch is null)
            {
                _objects.Remove((rewrite.Type.QualifiedName, rewrite.Ns, rewrite.Name));
                var gone = current.DeepClone().AsObject();
                gone["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                RecordHistory(rewrite.Type, rewrite.Ns, WatchEventType.Deleted, gone);
                continue;
            }
            try
            {
                var stored = Store(rewrite.Type, rewrite.Ns, rewrite.Patch.Apply(current).AsObject(), current);
                changed.Add((rewrite.Type, stored.DeepClone().AsObject()));
            }
            catch (Exception e) when (e is JsonPatchException or KubernetesApiException)
            {
            }
        }
        return changed;
    }

    /// <summary>Brings the cluster up to the clock (pods ready, external rewrites) and raises their change events.</summary>
    public void Materialize()
    {
        lock (_gate) _unpublished.AddRange(Tick());
        Flush();
    }

    private void Flush()
    {
        List<(ResourceType, JsonObject)> pending;
        lock (_gate)
        {
            if (_unpublished.Count == 0) return;
            pending = _unpublished.ToList();
            _unpublished.Clear();
        }
        foreach (var (t, o) in pending) Changed?.Invoke(t, o, "CONTROLLER");
    }

    public JsonObject Seed(ResourceType type, JsonObject obj)
    {
        var ns = type.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? DefaultNamespace : null;
        return CreateCore(type, ns, obj, log: false);
    }

    public JsonObject? Peek(ResourceType type, string? ns, string name)
    {
        lock (_gate) return _objects.TryGetValue((type.QualifiedName, ns, name), out var o) ? o.DeepClone().AsObject() : null;
    }

    public IReadOnlyList<JsonObject> PeekAll(ResourceType type, string? ns)
    {
        lock (_gate)
            return _objects.Where(kv => kv.Key.Type == type.QualifiedName && (ns is null || kv.Key.Ns == ns))
                .Select(kv => kv.Value.DeepClone().AsObject()).ToList();
    }

    public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default)
    {
        JsonObject result;
        lock (_gate)
        {
            Record("GET", type, name);
            result = Find(type, ns, name).DeepClone().AsObject();
        }
        Flush();
        return Task.FromResult(result);
    }

    public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Record("LIST", type, null);
            var selector = LabelSelector.Parse(options?.LabelSelector);
            var items = _objects.Where(kv => kv.Key.Type == type.QualifiedName && (ns is null || kv.Key.Ns == ns))
                .OrderBy(kv => kv.Key.Ns, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal)
                .Select(kv => kv.Value)
                .Where(o => selector.Matches(o["metadata"]?["labels"] as JsonObject))
                .Select(o => o.DeepClone().AsObject()).ToList();
            var start = int.TryParse(options?.Continue, NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : 0;
            var limit = options?.Limit is > 0 ? options.Limit.Value : int.MaxValue;
            var page = items.Skip(start).Take(limit).ToList();
            var next = start + page.Count < items.Count ? (start + page.Count).ToString(CultureInfo.InvariantCulture) : null;
            return Task.FromResult(new ObjectList(page, _version.ToString(CultureInfo.InvariantCulture), next));
        }
    }

    public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default)
    {
        if (type == ResourceType.SelfSubjectAccessReview)
        {
            // A review is answered, not stored; the sandbox has no RBAC, so everything is allowed.
            var review = obj.DeepClone().AsObject();
            review["status"] = new JsonObject { ["allowed"] = true, ["reason"] = "the sandbox has no RBAC" };
            lock (_gate) Record("CREATE", type, null);
            return Task.FromResult(review);
        }
        return Task.FromResult(CreateCore(type, type.Namespaced ? ns ?? DefaultNamespace : null, obj, log: true));
    }

    public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default)
    {
        JsonObject stored;
        lock (_gate)
        {
            var fault = Record("UPDATE", type, name);
            var current = Find(type, ns, name);
            var rv = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
            // Built-in types allow an unconditional update; custom resources do not (their strategy refuses it).
            if (string.IsNullOrEmpty(rv) && _schemas.ContainsKey((type.Group, type.Version, type.Plural)))
                throw new KubernetesApiException(422, StatusReason.Invalid,
                    $"{type.Kind}.{type.Group} \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                    new ObjectReference(type, ns, name), [new StatusCause("metadata.resourceVersion", "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update")]);
            if (rv is not null && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            stored = Store(type, ns, obj.DeepClone().AsObject(), current);
            Fail(fault, type, ns, name);
        }
        OnChanged(type, stored, "UPDATE");
        return Task.FromResult(stored.DeepClone().AsObject());
    }

    public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        Task.FromResult(PatchCore(type, ns, name, patch, "PATCH"));

    public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        JsonObject current;
        lock (_gate)
        {
            var fault = Record("DELETE", type, name);
            current = Find(type, ns, name);
            if (options?.PreconditionResourceVersion is { } rv && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            if (options?.PreconditionUid is { } uid && uid != current["metadata"]!["uid"]!.GetValue<string>())
                throw Conflict(type, ns, name);
            _objects.Remove((type.QualifiedName, ns, name));
            if (type == ResourceType.Deployment) RemoveBrokenPods(ns, name, keep: 0);
            // A watch sees the deleted object at the deletion's resourceVersion.
            var gone = current.DeepClone().AsObject();
            gone["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
            RecordHistory(type, ns, WatchEventType.Deleted, gone);
            Fail(fault, type, ns, name);
        }
        OnChanged(type, null, "DELETE");
        return Task.CompletedTask;
    }

    public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default)
    {
        lock (_gate)
        {
            Record("GET", type, $"{name}/{subresource}");
            var d = Find(type, ns, name);
            return Task.FromResult(subresource switch
            {
                "scale" => Scale(d),
                "status" => d.DeepClone().AsObject(),
                _ => throw NotFoundSub(type, ns, name, subresource),
            });
        }
    }

    public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        PatchSubresourceAsync(type, ns, name, subresource, new MergePatch(subresource == "scale"
            ? new JsonObject { ["spec"] = new JsonObject { ["replicas"] = obj["spec"]?["replicas"]?.DeepClone() } }
            : new JsonObject { ["status"] = obj["status"]?.DeepClone() }), ct);

    public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default)
    {
        JsonObject stored;
        lock (_gate)
        {
            var fault = Record("PATCH", type, $"{name}/{subresource}");
            var current = Find(type, ns, name);
            var view = subresource == "scale" ? Scale(current) : current.DeepClone().AsObject();
            var patched = ApplyPatch(type, ns, name, view, patch);
            var next = current.DeepClone().AsObject();
            if (subresource == "scale")
            {
                next["spec"] ??= new JsonObject();
                next["spec"]!["replicas"] = patched["spec"]?["replicas"]?.DeepClone();
            }
            else if (subresource == "status") next["status"] = patched["status"]?.DeepClone();
            else throw NotFoundSub(type, ns, name, subresource);
            stored = Store(type, ns, next, current, statusWrite: subresource == "status");
            Fail(fault, type, ns, name);
        }
        OnChanged(type, stored, "PATCH");
        return Task.FromResult(subresource == "scale" ? Scale(stored) : stored.DeepClone().AsObject());
    }

    /// <summary>
    /// Like kube-apiserver: from a resourceVersion it replays every later change (410 Gone when that version is older
    /// than the kept history), without one (or with "0") it starts with the current objects as Added; then it streams.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<HistoryEntry>();
        var selector = LabelSelector.Parse(options?.LabelSelector);
        bool Wanted(HistoryEntry e) => e.TypeKey == type.QualifiedName && (ns is null || e.Ns == ns)
                                       && selector.Matches(e.Object["metadata"]?["labels"] as JsonObject);
        var initial = new List<WatchEvent>();
        lock (_gate)
        {
            var from = options?.ResourceVersion is { Length: > 0 } rvText && rvText != "0"
                ? long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out var rv)
                    ? rv
                    : throw new KubernetesApiException(400, StatusReason.BadRequest, $"invalid resource version \"{rvText}\"")
                : (long?)null;
            if (from is { } since)
            {
                if (_history.Count == _historyLimit && since < _history[0].ResourceVersion - 1)
                    throw new KubernetesApiException(410, StatusReason.Expired, $"too old resource version: {since} ({_history[0].ResourceVersion - 1})");
                initial.AddRange(_history.Where(e => e.ResourceVersion > since && Wanted(e)).Select(e => new WatchEvent(e.Type, e.Object.DeepClone().AsObject())));
            }
            else
            {
                initial.AddRange(_objects.Where(kv => kv.Key.Type == type.QualifiedName && (ns is null || kv.Key.Ns == ns))
                    .OrderBy(kv => kv.Key.Ns, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal)
                    .Where(kv => selector.Matches(kv.Value["metadata"]?["labels"] as JsonObject))
                    .Select(kv => new WatchEvent(WatchEventType.Added, kv.Value.DeepClone().AsObject())));
            }
            // Subscribing under the same lock that records history means no change falls between replay and stream.
            _watchers.Add(channel.Writer);
        }
        try
        {
            foreach (var e in initial) yield return e;
            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                while (channel.Reader.TryRead(out var e))
                    if (Wanted(e))
                        yield return new WatchEvent(e.Type, e.Object.DeepClone().AsObject());
        }
        finally
        {
            lock (_gate) _watchers.Remove(channel.Writer);
        }
    }

    private sealed record HistoryEntry(long ResourceVersion, string TypeKey, string? Ns, WatchEventType Type, JsonObject Object);

    private readonly List<HistoryEntry> _history = new();
    private readonly List<System.Threading.Channels.ChannelWriter<HistoryEntry>> _watchers = new();
    private readonly int _historyLimit = 5000;

    /// <summary>Keeps a change for watches that resume from a resourceVersion; called under the lock.</summary>
    private void RecordHistory(ResourceType type, string? ns, WatchEventType kind, JsonObject obj)
    {
        var rv = long.Parse(obj["metadata"]!["resourceVersion"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var entry = new HistoryEntry(rv, type.QualifiedName, ns, kind, obj.DeepClone().AsObject());
        if (_history.Count == _historyLimit) _history.RemoveAt(0);
        _history.Add(entry);
        foreach (var w in _watchers) w.TryWrite(entry);
    }

    public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default)
    {
        lock (_gate)
        {
            var builtIn = new[] { ResourceType.Namespace, ResourceType.Pod, ResourceType.Service, ResourceType.ConfigMap, ResourceType.Secret,
                ResourceType.Deployment, ResourceType.Lease, ResourceType.CustomResourceDefinition, ResourceType.SelfSubjectAccessReview, ResourceType.Ingress,
                Kubestead.Traffic.HpaGuard.HorizontalPodAutoscaler };
            return Task.FromResult(new ApiDiscovery(builtIn.Concat(CustomTypes)));
        }
    }

    /// <summary>Custom resource types this cluster serves (registered by the sandbox from CRDs).</summary>
    public List<ResourceType> CustomTypes { get; } = new();

    private readonly Dictionary<(string Group, string Version, string Plural), JsonObject> _schemas = new();

    /// <summary>When true, fields a CRD schema does not know are rejected (the real server prunes them; tests want to see them).</summary>
    public bool StrictSchemas { get; init; }

    /// <summary>Serves a CRD's versions and validates every write of its objects against the version's schema (422 Invalid naming the field).</summary>
    public void RegisterCrd(Kubestead.Sandbox.Schema.CrdDocument crd)
    {
        lock (_gate)
        {
            // A version with served: false is not an API at all: the real server answers 404 for it and leaves it out of
            // discovery, so it must not stay listed from an earlier registration.
            CustomTypes.RemoveAll(t => t.Group == crd.Group && t.Plural == crd.Plural && !crd.Versions.Any(v => v.Served && v.Name == t.Version));
            foreach (var v in crd.Versions.Where(v => v.Served))
            {
                var type = new ResourceType(crd.Group, v.Name, crd.Plural, crd.Kind, crd.Namespaced);
                if (!CustomTypes.Contains(type)) CustomTypes.Add(type);
                _schemas[(crd.Group, v.Name, crd.Plural)] = v.Schema;
            }
        }
    }

    private void ValidateSchema(ResourceType type, string? ns, JsonObject obj)
    {
        if (type == ResourceType.Ingress) IngressValidation.Validate(ns, obj);
        if (!_schemas.TryGetValue((type.Group, type.Version, type.Plural), out var schema)) return;
        SchemaDefaulter.Apply(obj, schema, prune: !StrictSchemas);
        var errors = Kubestead.Sandbox.Schema.SchemaValidator.Validate(obj, schema, StrictSchemas);
        if (errors.Count == 0) return;
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? "";
        throw new KubernetesApiException(422, StatusReason.Invalid,
            $"{type.Kind}.{type.Group} \"{name}\" is invalid: {string.Join(", ", errors.Select(e => e.ToString()))}",
            new ObjectReference(type, ns, name), errors.Select(e => new StatusCause(e.Field, "FieldValueInvalid", e.Message)).ToList());
    }

    private JsonObject CreateCore(ResourceType type, string? ns, JsonObject obj, bool log)
    {
        var name = obj["metadata"]?["name"]?.GetValue<string>()
                   ?? throw new KubernetesApiException(422, StatusReason.Invalid, $"{type.Kind}: metadata.name: Required value: name is required",
                       causes: [new StatusCause("metadata.name", "FieldValueRequired", "Required value: name is required")]);
        JsonObject stored;
        lock (_gate)
        {
            var fault = log ? Record("CREATE", type, name) : null;
            // kube-apiserver's order: namespace admission (404), validation (422), storage's resourceVersion check (500),
            // then the existence check (409 AlreadyExists).
            if (log && RequireNamespaces && ns is not null && !_objects.ContainsKey((ResourceType.Namespace.QualifiedName, null, ns)))
                throw NamespaceNotFound(ns);
            obj = obj.DeepClone().AsObject(); // defaulting and pruning must not touch the caller's object
            ValidateSchema(type, ns, obj);
            if (log && obj["metadata"]?["resourceVersion"] is { } rv && rv.GetValue<string>() is not ("" or "0"))
                // etcd3 storage refuses it with a plain error, which the server turns into a 500 Status without a reason.
                throw new KubernetesApiException(500, StatusReason.Unknown, "resourceVersion should not be set on objects to be created",
                    new ObjectReference(type, ns, name));
            if (_objects.ContainsKey((type.QualifiedName, ns, name)))
                throw new KubernetesApiException(409, StatusReason.AlreadyExists, $"{type.QualifiedName} \"{name}\" already exists",
                    new ObjectReference(type, ns, name));
            stored = Store(type, ns, obj.DeepClone().AsObject(), null, statusWrite: !log);
            Fail(fault, type, ns, name);
        }
        OnChanged(type, stored, "CREATE");
        return stored.DeepClone().AsObject();
    }

    private JsonObject PatchCore(ResourceType type, string? ns, string name, KubernetesPatch patch, string verb)
    {
        JsonObject stored;
        lock (_gate)
        {
            var fault = verb == "reconciler" ? null : Record("PATCH", type, name);
            var current = Find(type, ns, name);
            stored = Store(type, ns, ApplyPatch(type, ns, name, current, patch), current);
            Fail(fault, type, ns, name);
        }
        OnChanged(type, stored, "PATCH");
        return stored.DeepClone().AsObject();
    }

    private static JsonObject ApplyPatch(ResourceType type, string? ns, string name, JsonObject current, KubernetesPatch patch)
    {
        try
        {
            return patch switch
            {
                JsonPatch jp => jp.Apply(current).AsObject(),
                MergePatch mp => mp.Apply(current)!.AsObject(),
                _ => throw new KubernetesApiException(415, StatusReason.UnsupportedMediaType, $"the body of the request was in an unknown format: {patch.ContentType}"),
            };
        }
        catch (JsonPatchException e)
        {
            // kube-apiserver answers a failed "test" (or a bad path) with 422 Invalid.
            throw new KubernetesApiException(422, StatusReason.Invalid, $"the server rejected our request due to an error in our request: {e.Message}",
                new ObjectReference(type, ns, name));
        }
    }

    /// <param name="statusWrite">The write may set status (the status subresource, or seeding); a write of the main
    /// resource keeps the stored status, as kube-apiserver does for types with a status subresource.</param>
    private JsonObject Store(ResourceType type, string? ns, JsonObject obj, JsonObject? previous, bool statusWrite = false)
    {
        ValidateSchema(type, ns, obj);
        var md = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = md;
        obj["apiVersion"] ??= type.ApiVersion;
        obj["kind"] ??= type.Kind;
        if (ns is not null) md["namespace"] = ns;
        // ObjectMeta's maps are omitempty: the real server returns no "annotations" once the last one is removed.
        foreach (var map in new[] { "labels", "annotations" })
            if (md[map] is JsonObject { Count: 0 } or null && md.ContainsKey(map)) md.Remove(map);
        md["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        md["uid"] = previous?["metadata"]?["uid"]?.DeepClone() ?? Guid.NewGuid().ToString();
        md["creationTimestamp"] = previous?["metadata"]?["creationTimestamp"]?.DeepClone()
                                  ?? _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var generation = previous?["metadata"]?["generation"]?.GetValue<long>() ?? 0;
        var specChanged = previous is null || !JsonNode.DeepEquals(previous["spec"], obj["spec"]);
        md["generation"] = specChanged ? generation + 1 : generation;
        if (type == Kubestead.Traffic.HpaGuard.HorizontalPodAutoscaler)
        {
            HpaDefaulter.Apply(obj);
            if (!statusWrite || obj["status"] is null) obj["status"] = previous?["status"]?.DeepClone() ?? HpaDefaulter.InitialStatus();
        }
        if (type == ResourceType.Deployment)
        {
            if (!statusWrite) obj["status"] = previous?["status"]?.DeepClone() ?? new JsonObject();
            if (specChanged && EmulateControllers) StartDeploymentRollout(ns, md["name"]!.GetValue<string>(), obj);
        }
        // Store what a real server would return: parsed JSON, so numbers read back as any numeric type.
        var normalized = JsonNode.Parse(obj.ToJsonString())!.AsObject();
        _objects[(type.QualifiedName, ns, md["name"]!.GetValue<string>())] = normalized;
        RecordHistory(type, ns, previous is null ? WatchEventType.Added : WatchEventType.Modified, normalized);
        return normalized;
    }

    /// <summary>A changed Deployment is not ready until its pods are: after <see cref="PodReadyDelay"/> on the clock.</summary>
    private void StartDeploymentRollout(string? ns, string name, JsonObject deployment)
    {
        var replicas = deployment["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var generation = deployment["metadata"]!["generation"]!.GetValue<long>();
        var oldReady = deployment["status"]?["readyReplicas"]?.GetValue<int>() ?? 0;
        if (_brokenPods.TryGetValue((ns, name), out var reason))
        {
            RunBrokenPods(ns, name, deployment, reason, oldReady);
            return;
        }
        if (PodReadyDelay <= TimeSpan.Zero)
        {
            deployment["status"] = ReadyStatus(replicas, generation);
            return;
        }
        deployment["status"] = new JsonObject
        {
            ["observedGeneration"] = generation,
            ["replicas"] = replicas,
            ["updatedReplicas"] = 0,
            ["readyReplicas"] = Math.Min(oldReady, replicas),
            ["availableReplicas"] = Math.Min(oldReady, replicas),
        };
        _pendingReady[(ns, name)] = (generation, _clock.GetUtcNow() + PodReadyDelay);
    }

    private static JsonObject ReadyStatus(int replicas, long generation) => new()
    {
        ["observedGeneration"] = generation,
        ["replicas"] = replicas,
        ["updatedReplicas"] = replicas,
        ["readyReplicas"] = replicas,
        ["availableReplicas"] = replicas,
        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Available", ["status"] = "True" }),
    };

    private static JsonObject Scale(JsonObject d) => new()
    {
        ["apiVersion"] = "autoscaling/v1",
        ["kind"] = "Scale",
        ["metadata"] = new JsonObject
        {
            ["name"] = d["metadata"]?["name"]?.DeepClone(),
            ["namespace"] = d["metadata"]?["namespace"]?.DeepClone(),
            ["resourceVersion"] = d["metadata"]?["resourceVersion"]?.DeepClone(),
        },
        ["spec"] = new JsonObject { ["replicas"] = d["spec"]?["replicas"]?.GetValue<int>() ?? 1 },
        ["status"] = new JsonObject { ["replicas"] = d["status"]?["replicas"]?.GetValue<int>() ?? 0 },
    };

    private void OnChanged(ResourceType type, JsonObject? obj, string verb)
    {
        Flush();
        var handler = Changed;
        handler?.Invoke(type, obj?.DeepClone().AsObject(), verb);
    }

    private readonly List<(ResourceType, JsonObject)> _unpublished = new();

    private Fault? Record(string verb, ResourceType type, string? name)
    {
        _unpublished.AddRange(Tick());
        Log.Add(name is null ? $"{verb} {type.Plural}" : $"{verb} {type.Plural}/{name}");
        if (IsUnservedVersion(type))
            throw new KubernetesApiException(404, StatusReason.NotFound, "the server could not find the requested resource");
        if (type == ResourceType.SelfSubjectAccessReview) return null; // answered, never stored: not a write to fail
        if (verb is not ("GET" or "LIST") && _failWrite is { } fw && ++_writesSeen == fw.Number)
        {
            _failWrite = null;
            if (!fw.AfterApply) throw new KubernetesApiException(503, StatusReason.ServiceUnavailable, $"injected failure of write {fw.Number} ({verb} {type.Plural}/{name})");
            return new Fault(verb, type.Plural, name, 1, 0, true);
        }
        var fault = _faults.FirstOrDefault(f => f.Verb == verb && f.Plural == type.Plural && (f.Name is null || name?.StartsWith(f.Name, StringComparison.Ordinal) == true));
        if (fault is null) return null;
        fault.Remaining--;
        if (fault.Remaining <= 0) _faults.Remove(fault);
        if (!fault.AfterApply)
            throw new KubernetesApiException(fault.Status, fault.Status switch
                {
                    429 => StatusReason.TooManyRequests,
                    500 => StatusReason.InternalError,
                    0 => StatusReason.Unknown,
                    _ => StatusReason.ServiceUnavailable,
                }, $"injected failure for {verb} {type.Plural}/{name}", retryAfter: fault.Status == 429 ? TimeSpan.FromSeconds(2) : null);
        return fault;
    }

    private static void Fail(Fault? afterApply, ResourceType type, string? ns, string name)
    {
        if (afterApply is not null)
            throw new KubernetesApiException(0, StatusReason.Unknown, $"connection dropped after {afterApply.Verb} {type.Plural}/{name} was applied",
                new ObjectReference(type, ns, name));
    }

    private static bool IsWrite(string entry) => !entry.StartsWith("GET", StringComparison.Ordinal) && !entry.StartsWith("LIST", StringComparison.Ordinal)
                                                 && !entry.EndsWith(" " + ResourceType.SelfSubjectAccessReview.Plural, StringComparison.Ordinal);

    /// <summary>
    /// A custom resource's group and resource are served but not in this version (a CRD version with served: false):
    /// kube-apiserver answers such a path with a bare 404, whatever the verb. Types the cluster has never heard of stay
    /// accepted, so unit tests can store any object without registering it first.
    /// </summary>
    private bool IsUnservedVersion(ResourceType type) =>
        CustomTypes.Any(t => t.Group == type.Group && t.Plural == type.Plural)
        && !CustomTypes.Any(t => t.Group == type.Group && t.Plural == type.Plural && t.Version == type.Version);

    private JsonObject Find(ResourceType type, string? ns, string name) =>
        _objects.TryGetValue((type.QualifiedName, ns, name), out var o)
            ? o
            : throw new KubernetesApiException(404, StatusReason.NotFound, $"{type.QualifiedName} \"{name}\" not found", new ObjectReference(type, ns, name));

    private static KubernetesApiException NamespaceNotFound(string ns) =>
        new(404, StatusReason.NotFound, $"namespaces \"{ns}\" not found", new ObjectReference(ResourceType.Namespace, null, ns));

    private static KubernetesApiException NotFoundSub(ResourceType type, string? ns, string name, string sub) =>
        new(404, StatusReason.NotFound, $"{type.QualifiedName} \"{name}\" has no subresource {sub}", new ObjectReference(type, ns, name));

    private static KubernetesApiException Conflict(ResourceType type, string? ns, string name) =>
        new(409, StatusReason.Conflict,
            $"Operation cannot be fulfilled on {type.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            new ObjectReference(type, ns, name));

    private sealed class Fault(string verb, string plural, string? name, int count, int status, bool afterApply)
    {
        public string Verb { get; } = verb;
        public string Plural { get; } = plural;
        public string? Name { get; } = name;
        public int Remaining { get; set; } = count;
        public int Status { get; } = status;
        public bool AfterApply { get; } = afterApply;
    }
}
