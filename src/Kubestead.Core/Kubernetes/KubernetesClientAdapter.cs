using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using k8s.Autorest;

namespace Kubestead.Kubernetes;

/// <summary>
/// Kubestead's port (<see cref="IKubernetesApi"/>) over the official KubernetesClient: the library's configuration, TLS
/// settings, credentials (tokens, token files, certificates, exec plugins, in-cluster) and error type carry every request
/// (through <see cref="KubernetesTransport"/>, an HttpClient built from that configuration);
/// this adapter adds the request shapes Kubestead needs for any group/version/resource and its safety rules. Safe requests
/// (reads, and writes guarded by resourceVersion or JSON Patch tests) are retried on transient failures with capped
/// exponential backoff and jitter, honouring Retry-After, for a budget of minutes (<see cref="RetryPolicy"/>); any request
/// is retried when its connection was never made. A create is never re-sent: after an ambiguous failure it reads the
/// object back. Each request but a watch is bounded by a timeout, so a server that accepts and never answers is reported
/// as unavailable instead of hanging the caller. 409 Conflict goes to the caller. Credentials never appear in messages, ToString or the log.
/// </summary>
public sealed class KubernetesClientAdapter : IKubernetesApi, IAsyncDisposable
{
    private readonly ClusterConnection _connection;
    private readonly TimeProvider _clock;
    private readonly RetryPolicy _retry;
    private readonly RequestObserver _observer;
    private readonly TimeSpan _requestTimeout;
    private volatile bool _answered;
    private readonly object _gate = new();
    private KubernetesTransport? _transport;

    /// <summary>The default bound on one request (kubectl bounds each of its requests too); watches are not bounded.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <param name="requestTimeout">Bound on each request (not watches); <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// Counted in wall time: it bounds the network, which does not run on a virtual clock.</param>
    /// <param name="requests">Told of every HTTP request (retries included), for a host's metrics; must be cheap and must not throw.</param>
    public KubernetesClientAdapter(ClusterConnection connection, TimeProvider? clock = null, RetryPolicy? retry = null, Action<string>? log = null,
        TimeSpan? requestTimeout = null, Action<ApiRequestSample>? requests = null)
    {
        _connection = connection;
        _clock = clock ?? TimeProvider.System;
        _retry = retry ?? new RetryPolicy();
        _observer = new RequestObserver(log, requests);
        _requestTimeout = requestTimeout ?? DefaultRequestTimeout;
        if (_requestTimeout <= TimeSpan.Zero && _requestTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(requestTimeout), requestTimeout, "the request timeout must be positive");
    }

    public string DefaultNamespace => _connection.Namespace;

    /// <summary>HTTP requests sent (each retry counts), for tests and benchmarks.</summary>
    public int RequestCount => _observer.RequestCount;

    public override string ToString() => $"KubernetesClientAdapter({_connection})";

    public async Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) =>
        (await SendAsync(HttpMethod.Get, Path(type, ns, name), null, null, Safe.Always, new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;

    public async Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default)
    {
        var query = new List<string>();
        if (options?.LabelSelector is { } ls) query.Add("labelSelector=" + Uri.EscapeDataString(ls));
        if (options?.FieldSelector is { } fs) query.Add("fieldSelector=" + Uri.EscapeDataString(fs));
        if (options?.Limit is { } limit) query.Add("limit=" + limit.ToString(CultureInfo.InvariantCulture));
        if (options?.Continue is { } cont) query.Add("continue=" + Uri.EscapeDataString(cont));
        var path = Path(type, ns, null) + (query.Count > 0 ? "?" + string.Join("&", query) : "");
        var list = (await SendAsync(HttpMethod.Get, path, null, null, Safe.Always, null, ct).ConfigureAwait(false))!;
        var items = (list["items"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().Select(i =>
        {
            var item = (JsonObject)i.DeepClone();
            item["apiVersion"] ??= type.ApiVersion;
            item["kind"] ??= type.Kind;
            return item;
        }).ToList();
        return new ObjectList(items, list["metadata"]?["resourceVersion"]?.GetValue<string>(),
            list["metadata"]?["continue"]?.GetValue<string>() is { Length: > 0 } c ? c : null);
    }

    /// <summary>Every object, following <c>continue</c> tokens page by page.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListAllAsync(ResourceType type, string? ns, string? labelSelector = null, int pageSize = 500, CancellationToken ct = default)
    {
        var all = new List<JsonObject>();
        string? token = null;
        do
        {
            var page = await ListAsync(type, ns, new ListOptions(labelSelector, Limit: pageSize, Continue: token), ct).ConfigureAwait(false);
            all.AddRange(page.Items);
            token = page.Continue;
        } while (token is not null);
        return all;
    }

    public async Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default)
    {
        var name = obj["metadata"]?["name"]?.GetValue<string>();
        var target = name is null ? null : new ObjectReference(type, ns, name);
        try
        {
            return (await SendAsync(HttpMethod.Post, Path(type, ns, null), obj.ToJsonString(), "application/json", Safe.Never, target, ct).ConfigureAwait(false))!;
        }
        catch (KubernetesApiException e) when (IsAmbiguous(e) && e is not ApiServerUnavailableException && name is not null
                                                 && type != ResourceType.SelfSubjectAccessReview)
        {
            // The create may or may not have happened. Read instead of re-sending, so a retry cannot create a duplicate.
            // (A create whose budget ran out was only ever re-sent when its connection was never made: nothing to read.)
            try
            {
                var existing = await GetAsync(type, ns, name, ct).ConfigureAwait(false);
                if (JsonNode.DeepEquals(existing["spec"], obj["spec"]) && JsonNode.DeepEquals(existing["data"], obj["data"])) return existing;
            }
            catch (KubernetesApiException inner) when (inner.IsNotFound)
            {
            }
            throw;
        }
    }

    public async Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default)
    {
        var guarded = obj["metadata"]?["resourceVersion"] is not null;
        return (await SendAsync(HttpMethod.Put, Path(type, ns, name), obj.ToJsonString(), "application/json", guarded ? Safe.Guarded : Safe.Never,
            new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;
    }

    public async Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
        (await SendAsync(HttpMethod.Patch, Path(type, ns, name), patch.ToJson().ToJsonString(), patch.ContentType, PatchSafety(patch),
            new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;

    public async Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default)
    {
        var body = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "DeleteOptions", ["propagationPolicy"] = options?.PropagationPolicy ?? "Background" };
        if (options?.PreconditionUid is not null || options?.PreconditionResourceVersion is not null)
        {
            var pre = new JsonObject();
            if (options.PreconditionUid is { } uid) pre["uid"] = uid;
            if (options.PreconditionResourceVersion is { } rv) pre["resourceVersion"] = rv;
            body["preconditions"] = pre;
        }
        // A repeated delete cannot do harm: the second one answers NotFound, which the caller already treats as done.
        await SendAsync(HttpMethod.Delete, Path(type, ns, name), body.ToJsonString(), "application/json", Safe.Guarded, new ObjectReference(type, ns, name), ct)
            .ConfigureAwait(false);
    }

    public async Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
        (await SendAsync(HttpMethod.Get, Path(type, ns, name) + "/" + subresource, null, null, Safe.Always, new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;

    public async Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
        (await SendAsync(HttpMethod.Put, Path(type, ns, name) + "/" + subresource, obj.ToJsonString(), "application/json",
            obj["metadata"]?["resourceVersion"] is not null ? Safe.Guarded : Safe.Never, new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;

    public async Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
        (await SendAsync(HttpMethod.Patch, Path(type, ns, name) + "/" + subresource, patch.ToJson().ToJsonString(), patch.ContentType,
            // Setting replicas to a value is idempotent; other subresource patches are guarded like object patches.
            subresource == "scale" && patch is MergePatch ? Safe.Guarded : PatchSafety(patch), new ObjectReference(type, ns, name), ct).ConfigureAwait(false))!;

    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var resourceVersion = options?.ResourceVersion;
        if (resourceVersion is null)
        {
            var initial = await ListAsync(type, ns, new ListOptions(options?.LabelSelector), ct).ConfigureAwait(false);
            foreach (var item in initial.Items) yield return new WatchEvent(WatchEventType.Added, item);
            resourceVersion = initial.ResourceVersion;
        }
        var reconnects = new RetrySchedule(_retry, _clock);
        while (!ct.IsCancellationRequested)
        {
            var query = new List<string> { "watch=true", "allowWatchBookmarks=true" };
            if (resourceVersion is not null) query.Add("resourceVersion=" + Uri.EscapeDataString(resourceVersion));
            if (options?.LabelSelector is { } ls) query.Add("labelSelector=" + Uri.EscapeDataString(ls));
            if (options?.Timeout is { } t) query.Add("timeoutSeconds=" + ((int)t.TotalSeconds).ToString(CultureInfo.InvariantCulture));
            var relist = false;
            var reader = ReadLinesAsync(Path(type, ns, null) + "?" + string.Join("&", query), ct);
            await using var enumerator = reader.GetAsyncEnumerator(ct);
            while (true)
            {
                string? line;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false)) break;
                    line = enumerator.Current;
                }
                catch (KubernetesApiException e) when (e.IsGone)
                {
                    relist = true;
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or KubernetesApiException { IsUnavailable: true } && !ct.IsCancellationRequested)
                {
                    // Dropped connection or a server restarting: resume from the last resourceVersion seen, after a backoff.
                    var last = e as KubernetesApiException ?? new KubernetesApiException(0, StatusReason.ServiceUnavailable,
                        $"watch of {type.Plural}: cannot reach the API server at {_connection.Server}: {e.Message}", inner: e);
                    var delay = reconnects.NextDelay(last.RetryAfter) ?? throw Exhausted(last, reconnects);
                    await Task.Delay(delay, _clock, ct).ConfigureAwait(false);
                    break;
                }
                if (string.IsNullOrWhiteSpace(line)) continue;
                var evt = JsonNode.Parse(line) as JsonObject;
                var kind = evt?["type"]?.GetValue<string>();
                var obj = evt?["object"] as JsonObject ?? new JsonObject();
                if (kind == "ERROR")
                {
                    if (obj["code"]?.GetValue<int>() == 410)
                    {
                        relist = true;
                        break;
                    }
                    throw StatusError(obj["code"]?.GetValue<int>() ?? 500, obj, null, null);
                }
                reconnects.Succeeded();
                resourceVersion = obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? resourceVersion;
                var type2 = kind switch { "ADDED" => WatchEventType.Added, "MODIFIED" => WatchEventType.Modified, "DELETED" => WatchEventType.Deleted, _ => WatchEventType.Bookmark };
                if (type2 != WatchEventType.Bookmark) yield return new WatchEvent(type2, obj);
            }
            if (relist)
            {
                // 410 Gone: our resourceVersion is too old. Relist and hand the current objects to the caller again.
                var fresh = await ListAsync(type, ns, new ListOptions(options?.LabelSelector), ct).ConfigureAwait(false);
                foreach (var item in fresh.Items) yield return new WatchEvent(WatchEventType.Added, item);
                resourceVersion = fresh.ResourceVersion;
            }
            if (options?.Timeout is not null && !relist) yield break;
        }
    }

    public async Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default)
    {
        var resources = new List<ResourceType>();
        async Task AddGroupVersion(string path, string group, string version)
        {
            var list = await SendAsync(HttpMethod.Get, path, null, null, Safe.Always, null, ct).ConfigureAwait(false);
            foreach (var r in (list?["resources"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                var name = r["name"]?.GetValue<string>() ?? "";
                if (name.Contains('/')) continue;
                resources.Add(new ResourceType(group, version, name, r["kind"]?.GetValue<string>() ?? "", r["namespaced"]?.GetValue<bool>() ?? true));
            }
        }
        await AddGroupVersion("api/v1", "", "v1").ConfigureAwait(false);
        var groups = await SendAsync(HttpMethod.Get, "apis", null, null, Safe.Always, null, ct).ConfigureAwait(false);
        foreach (var g in (groups?["groups"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var group = g["name"]?.GetValue<string>() ?? "";
            var preferred = g["preferredVersion"]?["version"]?.GetValue<string>();
            var versions = (g["versions"] as JsonArray ?? new JsonArray()).Select(v => v?["version"]?.GetValue<string>()).OfType<string>()
                .OrderBy(v => v == preferred ? 0 : 1).ToList();
            foreach (var v in versions)
            {
                try
                {
                    await AddGroupVersion($"apis/{group}/{v}", group, v).ConfigureAwait(false);
                }
                catch (KubernetesApiException e) when (e.IsNotFound || e.StatusCode == 503)
                {
                    // An aggregated API that is down must not hide the rest.
                }
            }
        }
        return new ApiDiscovery(resources);
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate) _transport?.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The library client, built at the first request rather than at start: commands that fail before talking to the
    /// cluster (bad arguments, invalid specs) do not pay for TLS and credential setup.
    /// </summary>
    private KubernetesTransport Transport()
    {
        lock (_gate)
        {
            if (_transport is not null) return _transport;
            try
            {
                return _transport = new KubernetesTransport(_connection.Configuration, _observer);
            }
            catch (k8s.Exceptions.KubeConfigException e)
            {
                throw new KubeConfigException($"cannot connect with {_connection}: {e.Message}");
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                throw new KubeConfigException("the client certificate or key in the kubeconfig cannot be read (expected PEM, RSA or EC)");
            }
        }
    }

    internal static string Path(ResourceType type, string? ns, string? name)
    {
        var sb = new StringBuilder(type.Group.Length == 0 ? $"api/{type.Version}" : $"apis/{type.Group}/{type.Version}");
        if (type.Namespaced && ns is not null) sb.Append("/namespaces/").Append(Uri.EscapeDataString(ns));
        sb.Append('/').Append(type.Plural);
        if (name is not null) sb.Append('/').Append(Uri.EscapeDataString(name));
        return sb.ToString();
    }

    private enum Safe { Always, Guarded, Never }

    /// <summary>A JSON Patch with a <c>test</c> op fails (instead of applying twice) if it already went through.</summary>
    private static Safe PatchSafety(KubernetesPatch patch) =>
        patch is JsonPatch jp && jp.Operations.Any(o => o.Op == "test") ? Safe.Guarded : Safe.Never;

    private static bool IsAmbiguous(KubernetesApiException e) => e.StatusCode == 0 || e.StatusCode >= 500;

    private async Task<JsonObject?> SendAsync(HttpMethod method, string path, string? body, string? contentType, Safe safety, ObjectReference? target, CancellationToken ct)
    {
        var refreshedCredential = false;
        var schedule = new RetrySchedule(_answered ? _retry : FirstContact(), _clock);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var transport = Transport();
            using var request = new HttpRequestMessage(method, new Uri(transport.BaseUri, path));
            request.Headers.Accept.ParseAdd("application/json");
            if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(contentType ?? "application/json"));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (_requestTimeout != Timeout.InfiniteTimeSpan) timeout.CancelAfter(_requestTimeout);
            KubernetesApiException error;
            bool mayRetry;
            try
            {
                using var response = await transport.SendAsync(body, request, timeout.Token).ConfigureAwait(false);
                _answered = true;
                var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text) as JsonObject;
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                // Our own timeout: the request may have been applied, like a 5xx.
                error = new KubernetesApiException(0, StatusReason.Timeout,
                    $"{method} {What(target, path)}: unavailable: the API server at {_connection.Server} did not answer within {Seconds(_requestTimeout)}",
                    target, inner: e);
                mayRetry = safety != Safe.Never;
            }
            catch (HttpRequestException e) when (!ct.IsCancellationRequested)
            {
                error = Unreachable(method, path, target, e);
                // No connection was made, so nothing was sent: even a create may be tried again. A certificate the client
                // refuses will be refused again: that is a configuration error, not an outage.
                mayRetry = e.HttpRequestError != HttpRequestError.SecureConnectionError
                           && (safety != Safe.Never || e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError);
            }
            catch (HttpOperationException e)
            {
                _answered = true;
                var code = (int)e.Response.StatusCode;
                error = StatusError(code, ParseStatus(e.Response.Content), target, RetryAfter(e.Response.Headers), method, path);
                if (code == 401 && Credentials() is RefreshableTokenProvider exec && !refreshedCredential)
                {
                    refreshedCredential = true; // the cached exec credential expired early or was revoked: fetch a new one once
                    exec.Invalidate();
                    continue;
                }
                // A 429 was refused before any effect, so even an unguarded write may be re-sent; a 5xx may hide an effect.
                mayRetry = code == 429 || (code is 500 or 502 or 503 or 504 && safety != Safe.Never);
            }
            catch (k8s.Exceptions.KubeConfigException) when (_connection.Exec is { } plugin)
            {
                throw KubeConfigResolver.ExecFailed(plugin);
            }
            if (!mayRetry) throw error;
            var delay = schedule.NextDelay(error.RetryAfter) ?? throw Exhausted(error, schedule);
            await Task.Delay(delay, _clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A server that has never answered this client is most likely a wrong address, a VPN that is down or a cluster that
    /// is gone, not an outage to ride out: a command fails within seconds there, as kubectl does, and only a server that
    /// answered before is waited for over the whole budget.
    /// </summary>
    private RetryPolicy FirstContact() => _retry with
    {
        MaxAttempts = Math.Min(_retry.MaxAttempts, 3),
        Budget = _retry.TotalBudget < FirstContactBudget ? _retry.TotalBudget : FirstContactBudget,
    };

    private static readonly TimeSpan FirstContactBudget = TimeSpan.FromSeconds(3);

    /// <summary>Says how long the server has been failing, so nobody reads a budget that ran out as a refusal.</summary>
    private KubernetesApiException Exhausted(KubernetesApiException last, RetrySchedule schedule) => schedule.Failures <= 1
        ? last // a policy of one attempt: nothing was retried, so there is no outage to tell about
        : new ApiServerUnavailableException(last,
            $"{last.Message} (still failing after {schedule.Failures} attempts over {Seconds(schedule.Elapsed)}; the retry budget is {Seconds(_retry.TotalBudget)})",
            schedule.Elapsed, schedule.Failures);

    private static string Seconds(TimeSpan d) => Specs.SpecDuration.Format(TimeSpan.FromSeconds(Math.Round(d.TotalSeconds, d < TimeSpan.FromSeconds(10) ? 1 : 0)));

    private static string What(ObjectReference? target, string path) => target?.ToString() ?? "/" + StripQuery(path);

    private k8s.Authentication.ITokenProvider? Credentials() => _connection.Configuration.TokenProvider;

    private KubernetesApiException Unreachable(HttpMethod method, string path, ObjectReference? target, HttpRequestException e) =>
        new(0, StatusReason.ServiceUnavailable,
            $"{method} {What(target, path)}: unavailable: cannot reach the API server at {_connection.Server}: {e.Message}", target, inner: e);

    private static JsonObject? ParseStatus(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private TimeSpan? RetryAfter(IDictionary<string, IEnumerable<string>>? headers)
    {
        if (headers is null) return null;
        var value = headers.FirstOrDefault(h => string.Equals(h.Key, "Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at - _clock.GetUtcNow() : null;
    }

    private async IAsyncEnumerable<string> ReadLinesAsync(string path, [EnumeratorCancellation] CancellationToken ct)
    {
        var transport = Transport();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(transport.BaseUri, path));
        request.Headers.Accept.ParseAdd("application/json");
        HttpResponseMessage response;
        try
        {
            response = await transport.SendAsync(null, request, ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            throw StatusError((int)e.Response.StatusCode, ParseStatus(e.Response.Content), null, null, HttpMethod.Get, path);
        }
        using (response)
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line) yield return line;
        }
    }

    private static string StripQuery(string path) => path.Split('?')[0];

    private static KubernetesApiException StatusError(int code, JsonObject? status, ObjectReference? target, TimeSpan? retryAfter,
        HttpMethod? method = null, string? path = null)
    {
        var reasonText = status?["reason"]?.GetValue<string>();
        var reason = Enum.TryParse<StatusReason>(reasonText, out var r) ? r : code switch
        {
            400 => StatusReason.BadRequest, 401 => StatusReason.Unauthorized, 403 => StatusReason.Forbidden, 404 => StatusReason.NotFound,
            405 => StatusReason.MethodNotAllowed, 409 => StatusReason.Conflict, 410 => StatusReason.Gone, 415 => StatusReason.UnsupportedMediaType,
            422 => StatusReason.Invalid, 429 => StatusReason.TooManyRequests, 500 => StatusReason.InternalError, 503 => StatusReason.ServiceUnavailable,
            504 => StatusReason.Timeout, _ => StatusReason.Unknown,
        };
        var causes = (status?["details"]?["causes"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(c => new StatusCause(c["field"]?.GetValue<string>(), c["reason"]?.GetValue<string>(), c["message"]?.GetValue<string>() ?? "")).ToList();
        var message = status?["message"]?.GetValue<string>() ?? $"HTTP {code}";
        var what = target?.ToString() ?? (path is null ? "request" : "/" + StripQuery(path));
        var hint = code switch
        {
            401 => " (the credentials were rejected: check the kubeconfig user, token or exec plugin)",
            403 => " (RBAC forbids it: the kubeconfig user needs this permission in the namespace)",
            _ => "",
        };
        return new KubernetesApiException(code, reason, $"{method?.Method ?? "request"} {what}: {reason}: {message}{hint}", target, causes, retryAfter);
    }
}
