using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>Retry settings for transient failures (429, 5xx, dropped connections) on requests that cannot duplicate an effect.</summary>
public sealed record RetryPolicy(int MaxAttempts = 5, TimeSpan? BaseDelay = null, TimeSpan? MaxDelay = null)
{
    public TimeSpan Base => BaseDelay ?? TimeSpan.FromMilliseconds(200);
    public TimeSpan Max => MaxDelay ?? TimeSpan.FromSeconds(10);
}

/// <summary>
/// Kubestead's narrow Kubernetes client over HttpClient and System.Text.Json. TLS is verified unless the kubeconfig
/// says otherwise. Safe requests (reads, and writes guarded by resourceVersion or JSON Patch tests) are retried on
/// transient failures with capped exponential backoff and full jitter, honouring Retry-After; a create is never
/// retried blindly: after an ambiguous failure it reads the object back. 409 Conflict goes to the caller.
/// Credentials never appear in messages, ToString or the verbose log.
/// </summary>
public sealed class KubernetesClient : IKubernetesApi, IAsyncDisposable
{
    private readonly ClusterConnection _connection;
    private readonly TimeProvider _clock;
    private readonly RetryPolicy _retry;
    private readonly Action<string>? _log;
    private readonly ExecCredentialProvider? _exec;
    private readonly HttpMessageHandler? _handlerOverride;
    private HttpClient? _http;
    private string? _httpClientCertificate;
    private int _requests;

    public KubernetesClient(ClusterConnection connection, TimeProvider? clock = null, RetryPolicy? retry = null, Action<string>? log = null,
        HttpMessageHandler? handler = null)
    {
        _connection = connection;
        _clock = clock ?? TimeProvider.System;
        _retry = retry ?? new RetryPolicy();
        _log = log;
        _handlerOverride = handler;
        _exec = connection.Exec is { } exec ? new ExecCredentialProvider(exec, _clock) : null;
    }

    public string DefaultNamespace => _connection.Namespace;

    /// <summary>HTTP requests sent (each retry counts), for tests and benchmarks.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    public ExecCredentialProvider? ExecProvider => _exec;

    public override string ToString() => $"KubernetesClient({_connection})";

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
        catch (KubernetesApiException e) when (IsAmbiguous(e) && name is not null && type != ResourceType.SelfSubjectAccessReview)
        {
            // The create may or may not have happened. Read instead of re-sending, so a retry cannot create a duplicate.
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
        var failures = 0;
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
                catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    // Dropped connection: resume from the last resourceVersion seen, after a short backoff.
                    if (++failures > _retry.MaxAttempts) throw new KubernetesApiException(0, StatusReason.ServiceUnavailable, $"watch of {type} kept failing: {e.Message}", inner: e);
                    await Task.Delay(Backoff(failures, null), _clock, ct).ConfigureAwait(false);
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
                failures = 0;
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
        _http?.Dispose();
        return ValueTask.CompletedTask;
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
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var http = await ClientAsync(ct).ConfigureAwait(false);
            using var request = new HttpRequestMessage(method, new Uri(_connection.Server, path));
            request.Headers.Accept.ParseAdd("application/json");
            await AuthorizeAsync(request, refreshedCredential, ct).ConfigureAwait(false);
            if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(contentType ?? "application/json"));
            var started = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _requests);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (!ct.IsCancellationRequested)
            {
                _log?.Invoke($"{method} /{StripQuery(path)} -> connection failed ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
                var error = new KubernetesApiException(0, StatusReason.ServiceUnavailable,
                    $"{method} {target?.ToString() ?? "/" + StripQuery(path)}: cannot reach the API server at {_connection.Server}: {e.Message}", target, inner: e);
                if (safety == Safe.Never || attempt >= _retry.MaxAttempts) throw error;
                await Task.Delay(Backoff(attempt, null), _clock, ct).ConfigureAwait(false);
                continue;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                var code = (int)response.StatusCode;
                _log?.Invoke($"{method} /{StripQuery(path)} -> {code} ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
                if (response.IsSuccessStatusCode)
                    return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text) as JsonObject;
                var retryAfter = response.Headers.RetryAfter?.Delta
                                 ?? (response.Headers.RetryAfter?.Date is { } d ? d - _clock.GetUtcNow() : null);
                JsonObject? status = null;
                try
                {
                    status = JsonNode.Parse(text) as JsonObject;
                }
                catch (System.Text.Json.JsonException)
                {
                }
                var error = StatusError(code, status, target, retryAfter, method, path);
                if (code == 401 && _exec is not null && !refreshedCredential)
                {
                    refreshedCredential = true; // the cached exec credential expired early or was revoked: fetch a new one once
                    continue;
                }
                var transient = code == 429 || code is 500 or 502 or 503 or 504;
                // A 429 was refused before any effect, so even an unguarded write may be re-sent; a 5xx may hide an effect.
                var mayRetry = code == 429 || safety != Safe.Never;
                if (!transient || !mayRetry || attempt >= _retry.MaxAttempts) throw error;
                await Task.Delay(Backoff(attempt, retryAfter), _clock, ct).ConfigureAwait(false);
            }
        }
    }

    private async IAsyncEnumerable<string> ReadLinesAsync(string path, [EnumeratorCancellation] CancellationToken ct)
    {
        var http = await ClientAsync(ct).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_connection.Server, path));
        request.Headers.Accept.ParseAdd("application/json");
        await AuthorizeAsync(request, false, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _requests);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            JsonObject? status = null;
            try { status = JsonNode.Parse(text) as JsonObject; } catch (System.Text.Json.JsonException) { }
            throw StatusError((int)response.StatusCode, status, null, null, HttpMethod.Get, path);
        }
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line) yield return line;
    }

    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } ra && ra > TimeSpan.Zero) return ra < _retry.Max ? ra : _retry.Max;
        var cap = Math.Min(_retry.Max.TotalMilliseconds, _retry.Base.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap); // full jitter
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, bool refresh, CancellationToken ct)
    {
        if (_exec is not null)
        {
            var credential = await _exec.GetAsync(refresh, ct).ConfigureAwait(false);
            if (credential.Token is { } t) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t);
            return;
        }
        if (_connection.Token is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (_connection.TokenFile is { } file)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)).Trim());
        else if (_connection.Username is { } user)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{_connection.Password}")));
    }

    private async Task<HttpClient> ClientAsync(CancellationToken ct)
    {
        string? certPem = _connection.ClientCertificatePem, keyPem = _connection.ClientKeyPem;
        if (_exec is not null)
        {
            var c = await _exec.GetAsync(false, ct).ConfigureAwait(false);
            if (c.ClientCertificatePem is not null) (certPem, keyPem) = (c.ClientCertificatePem, c.ClientKeyPem);
        }
        if (_http is not null && _httpClientCertificate == certPem) return _http;
        _http?.Dispose();
        _httpClientCertificate = certPem;
        _http = new HttpClient(_handlerOverride ?? CreateHandler(certPem, keyPem), disposeHandler: _handlerOverride is null) { Timeout = Timeout.InfiniteTimeSpan };
        return _http;
    }

    private SocketsHttpHandler CreateHandler(string? certPem, string? keyPem)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(15) };
        var ssl = handler.SslOptions;
        if (certPem is not null)
        {
            if (keyPem is null) throw new KubeConfigException("a client certificate is configured without its key (client-key / client-key-data)");
            try
            {
                using var pem = X509Certificate2.CreateFromPem(certPem, keyPem);
                // Re-import so the private key is usable by SslStream on every platform.
#pragma warning disable SYSLIB0057
                var cert = new X509Certificate2(pem.Export(X509ContentType.Pkcs12));
#pragma warning restore SYSLIB0057
                ssl.ClientCertificates = new X509CertificateCollection { cert };
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                throw new KubeConfigException("the client certificate or key in the kubeconfig cannot be read (expected PEM, RSA or EC)");
            }
        }
        if (_connection.InsecureSkipTlsVerify)
        {
            ssl.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (_connection.CertificateAuthorityPem is not null || _connection.TlsServerName is not null)
        {
            var roots = new X509Certificate2Collection();
            if (_connection.CertificateAuthorityPem is { } caPem) roots.ImportFromPem(caPem);
            var serverName = _connection.TlsServerName;
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null) return false;
                using var cert = new X509Certificate2(certificate);
                // tls-server-name replaces the URL's host as the name the certificate must carry.
                var nameOk = serverName is null ? (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 : cert.MatchesHostname(serverName);
                if (!nameOk) return false;
                if (roots.Count == 0) return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            };
        }
        return handler;
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
