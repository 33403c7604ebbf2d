using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kubestead.Sandbox.Server;

/// <summary>
/// Serves an <see cref="EmulatedCluster"/> over HTTP on 127.0.0.1 the way kube-apiserver does for what Kubestead and
/// kubectl use: discovery, CRUD, JSON/merge patches, subresources, label selectors, paging, watches, Status errors.
/// A request with a credential other than the token in the sandbox's kubeconfig is refused with 401.
/// </summary>
public sealed class SandboxApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly Simulation.SimulatedPrometheus? _prometheus;

    private SandboxApiServer(WebApplication app, EmulatedCluster cluster, string token, string? caPem, Simulation.SimulatedPrometheus? prometheus)
    {
        _app = app;
        _prometheus = prometheus;
        Cluster = cluster;
        Token = token;
        CertificateAuthorityPem = caPem;
    }

    /// <summary>The CA that signed the server's certificate when serving TLS (written into the kubeconfig).</summary>
    public string? CertificateAuthorityPem { get; }

    public EmulatedCluster Cluster { get; }

    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>The bearer token clients must send (written into <see cref="WriteKubeconfig"/>'s file).</summary>
    internal string Token { get; }

    /// <summary>Path under <see cref="Address"/> where the simulated metrics are served as a Prometheus HTTP API.</summary>
    public const string PrometheusPath = "prometheus/";

    /// <summary>The Prometheus address of the simulated metrics, or null when the server was started without them.</summary>
    public Uri? PrometheusAddress => _prometheus is null ? null : new Uri(Address, PrometheusPath);

    /// <summary>A second credential for a read-only user, like the real test cluster's <c>limited</c> user.</summary>
    internal string ReadOnlyToken { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    /// <summary>What the read-only user may get, list and watch (kubectl's qualified names); everything else is 403.</summary>
    public static readonly IReadOnlySet<string> ReadOnlyResources = new HashSet<string>(StringComparer.Ordinal)
    {
        "virtualservices.networking.istio.io", "destinationrules.networking.istio.io", "httproutes.gateway.networking.k8s.io",
        "httproutes.policy.linkerd.io", "trafficsplits.split.smi-spec.io", "ingresses.networking.k8s.io", "deployments.apps",
        "services", "configmaps", "leases.coordination.k8s.io", "namespaces",
    };

    /// <param name="tls">Serve HTTPS with a certificate for 127.0.0.1, localhost and kubernetes.default.svc, signed by a fresh CA.</param>
    /// <param name="prometheus">When given, also served at <see cref="PrometheusPath"/> (api/v1/query), for drivers outside this process.</param>
    public static async Task<SandboxApiServer> StartAsync(EmulatedCluster cluster, int port = 0, CancellationToken ct = default, bool tls = false,
        Simulation.SimulatedPrometheus? prometheus = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedHostLifetime>();
        // Open watches would otherwise hold a stop for the default 30 s; a supervisor expects a stop within seconds.
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        string? caPem = null;
        if (tls)
        {
            var (serverCert, ca) = SandboxCertificates.Create();
            caPem = ca;
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(serverCert)));
        }
        else
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }
        var app = builder.Build();
        var server = new SandboxApiServer(app, cluster, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(), caPem, prometheus);
        app.Run(server.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1").TrimEnd('/') + "/");
        return server;
    }

    /// <summary>Writes a kubeconfig pointing at this server (context "kubestead-sandbox", namespace <paramref name="ns"/>).</summary>
    /// <param name="readOnly">Write the read-only user's credential instead (get/list/watch on <see cref="ReadOnlyResources"/>).</param>
    public void WriteKubeconfig(string path, string ns = "default", bool readOnly = false)
    {
        var yaml = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: kubestead-sandbox
              cluster:
                server: {Address.ToString().TrimEnd('/')}{(CertificateAuthorityPem is null ? "" : $"\n    certificate-authority-data: {Convert.ToBase64String(Encoding.UTF8.GetBytes(CertificateAuthorityPem))}")}
            users:
            - name: kubestead-sandbox
              user:
                token: {(readOnly ? ReadOnlyToken : Token)}
            contexts:
            - name: kubestead-sandbox
              context:
                cluster: kubestead-sandbox
                user: kubestead-sandbox
                namespace: {ns}
            current-context: kubestead-sandbox

            """;
        File.WriteAllText(path, yaml);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        try
        {
            // kubectl sends no bearer token over plain HTTP, so anonymous requests are allowed (as on a local dev
            // cluster); a wrong credential is rejected like kube-apiserver does.
            var auth = http.Request.Headers.Authorization.ToString();
            var readOnly = auth == $"Bearer {ReadOnlyToken}";
            if (auth.Length > 0 && auth != $"Bearer {Token}" && !readOnly)
            {
                await WriteStatusAsync(http, 401, "Unauthorized", "Unauthorized", null).ConfigureAwait(false);
                return;
            }
            var path = http.Request.Path.Value?.Trim('/') ?? "";
            if (_prometheus is not null && path == PrometheusPath + "api/v1/query")
            {
                var (status, body) = _prometheus.Query(http.Request.Query["query"].ToString(), http.Request.Query["time"].ToString());
                http.Response.StatusCode = status;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(body, ct).ConfigureAwait(false);
                return;
            }
            if (_prometheus is not null && path == PrometheusPath + "api/v1/query_range")
            {
                var q = http.Request.Query;
                var (status, body) = _prometheus.QueryRange(q["query"].ToString(), q["start"].ToString(), q["end"].ToString(), q["step"].ToString());
                http.Response.StatusCode = status;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(body, ct).ConfigureAwait(false);
                return;
            }
            if (await DiscoveryAsync(http, path).ConfigureAwait(false)) return;
            var route = ApiRoute.Parse(path, (await Cluster.DiscoverAsync(ct).ConfigureAwait(false)).Resources);
            if (route is null)
            {
                await WriteStatusAsync(http, 404, "NotFound", $"the server could not find the requested resource ({path})", null).ConfigureAwait(false);
                return;
            }
            if (readOnly && Forbidden(http, route) is { } denied)
            {
                await WriteStatusAsync(http, 403, "Forbidden", denied, route.Name is null ? null : new ObjectReference(route.Type, route.Namespace, route.Name))
                    .ConfigureAwait(false);
                return;
            }
            await ResourceAsync(http, route, readOnly, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.StatusCode == 0)
        {
            http.Abort(); // fault injection: the connection drops
        }
        catch (KubernetesApiException e)
        {
            if (e.RetryAfter is { } ra) http.Response.Headers.RetryAfter = ((int)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await WriteStatusAsync(http, e.StatusCode, e.Reason.ToString(), e.Message, e.Target, e.Causes).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException e)
        {
            await WriteStatusAsync(http, 400, "BadRequest", $"the request body is not valid JSON: {e.Message}", null).ConfigureAwait(false);
        }
        catch (JsonPatchException e)
        {
            await WriteStatusAsync(http, 422, "Invalid", e.Message, null).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or NullReferenceException)
        {
            await WriteStatusAsync(http, 500, "InternalError", $"sandbox error: {e.GetType().Name}: {e.Message}", null).ConfigureAwait(false);
        }
    }

    /// <summary>RBAC for the read-only user, with kube-apiserver's wording; null when allowed.</summary>
    private static string? Forbidden(HttpContext http, ApiRoute route)
    {
        var q = http.Request.Query;
        var verb = http.Request.Method switch
        {
            "GET" when route.Name is null => q["watch"] == "true" || q["watch"] == "1" ? "watch" : "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => http.Request.Method.ToLowerInvariant(),
        };
        var resource = route.Subresource is null ? route.Type.Plural : $"{route.Type.Plural}/{route.Subresource}";
        if (verb is "get" or "list" or "watch" && route.Subresource is null && ReadOnlyResources.Contains(route.Type.QualifiedName)) return null;
        if (route.Type == ResourceType.SelfSubjectAccessReview && verb == "create") return null;
        var scope = route.Namespace is null ? "at the cluster scope" : $"in the namespace \"{route.Namespace}\"";
        var what = route.Name is null ? route.Type.QualifiedName : $"{route.Type.QualifiedName} \"{route.Name}\"";
        return $"{what} is forbidden: User \"limited\" cannot {verb} resource \"{resource}\" in API group \"{route.Type.Group}\" {scope}";
    }

    private static JsonObject ReviewForReadOnlyUser(JsonObject review)
    {
        var a = review["spec"]?["resourceAttributes"];
        string Attr(string key) => a?[key]?.GetValue<string>() ?? "";
        var qualified = Attr("group").Length == 0 ? Attr("resource") : $"{Attr("resource")}.{Attr("group")}";
        var allowed = Attr("verb") is "get" or "list" or "watch" && Attr("subresource").Length == 0 && ReadOnlyResources.Contains(qualified);
        var answer = review.DeepClone().AsObject();
        answer["status"] = allowed
            ? new JsonObject { ["allowed"] = true, ["reason"] = "the read-only user may read this resource" }
            : new JsonObject { ["allowed"] = false };
        return answer;
    }

    private async Task ResourceAsync(HttpContext http, ApiRoute route, bool readOnly, CancellationToken ct)
    {
        var method = http.Request.Method;
        var q = http.Request.Query;
        if (method == "GET" && route.Name is null)
        {
            if (q["watch"] == "true" || q["watch"] == "1")
            {
                await WatchAsync(http, route, ct).ConfigureAwait(false);
                return;
            }
            var limit = int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : (int?)null;
            var list = await Cluster.ListAsync(route.Type, route.Namespace, new ListOptions(q["labelSelector"].ToString() is { Length: > 0 } ls ? ls : null,
                null, limit, q["continue"].ToString() is { Length: > 0 } c ? c : null), ct).ConfigureAwait(false);
            var fieldSelector = q["fieldSelector"].ToString();
            var items = list.Items.Where(i => MatchesFieldSelector(i, fieldSelector)).ToList();
            await WriteJsonAsync(http, 200, new JsonObject
            {
                ["apiVersion"] = route.Type.ApiVersion,
                ["kind"] = route.Type.Kind + "List",
                ["metadata"] = new JsonObject { ["resourceVersion"] = list.ResourceVersion, ["continue"] = list.Continue },
                ["items"] = new JsonArray(items.Select(i => (JsonNode?)i).ToArray()),
            }).ConfigureAwait(false);
            return;
        }
        var body = method is "POST" or "PUT" or "PATCH" || method == "DELETE" && http.Request.ContentLength > 0
            ? await new StreamReader(http.Request.Body, Encoding.UTF8).ReadToEndAsync(ct).ConfigureAwait(false)
            : null;
        JsonObject result;
        switch (method)
        {
            case "GET" when route.Subresource is { } sub:
                result = await Cluster.GetSubresourceAsync(route.Type, route.Namespace, route.Name!, sub, ct).ConfigureAwait(false);
                break;
            case "GET":
                result = await Cluster.GetAsync(route.Type, route.Namespace, route.Name!, ct).ConfigureAwait(false);
                break;
            case "POST":
            {
                var obj = JsonNode.Parse(body!) as JsonObject ?? throw Bad("the request body must be an object");
                result = readOnly && route.Type == ResourceType.SelfSubjectAccessReview
                    ? ReviewForReadOnlyUser(obj)
                    : await Cluster.CreateAsync(route.Type, route.Namespace, obj, ct).ConfigureAwait(false);
                await WriteJsonAsync(http, 201, result).ConfigureAwait(false);
                return;
            }
            case "PUT" when route.Subresource is { } sub:
                result = await Cluster.ReplaceSubresourceAsync(route.Type, route.Namespace, route.Name!, sub, JsonNode.Parse(body!)!.AsObject(), ct).ConfigureAwait(false);
                break;
            case "PUT":
                result = await Cluster.ReplaceAsync(route.Type, route.Namespace, route.Name!, JsonNode.Parse(body!)!.AsObject(), ct).ConfigureAwait(false);
                break;
            case "PATCH":
            {
                var contentType = http.Request.ContentType?.Split(';')[0].Trim() ?? "";
                KubernetesPatch patch = contentType switch
                {
                    JsonPatch.MediaType => JsonPatch.Parse(JsonNode.Parse(body!) as JsonArray ?? throw Bad("a JSON Patch must be an array")),
                    MergePatch.MediaType => new MergePatch(JsonNode.Parse(body!)!),
                    "application/strategic-merge-patch+json" when route.Type.Group is "" or "apps" => new MergePatch(JsonNode.Parse(body!)!),
                    _ => throw new KubernetesApiException(415, StatusReason.UnsupportedMediaType, $"the body of the request was in an unknown format - accepted media types include: {JsonPatch.MediaType}, {MergePatch.MediaType}"),
                };
                result = route.Subresource is { } sub
                    ? await Cluster.PatchSubresourceAsync(route.Type, route.Namespace, route.Name!, sub, patch, ct).ConfigureAwait(false)
                    : await Cluster.PatchAsync(route.Type, route.Namespace, route.Name!, patch, ct).ConfigureAwait(false);
                break;
            }
            case "DELETE":
            {
                var options = body is { Length: > 0 } ? JsonNode.Parse(body) : null;
                var existing = await Cluster.GetAsync(route.Type, route.Namespace, route.Name!, ct).ConfigureAwait(false);
                await Cluster.DeleteAsync(route.Type, route.Namespace, route.Name!, new DeleteOptions(
                    options?["preconditions"]?["uid"]?.GetValue<string>(), options?["preconditions"]?["resourceVersion"]?.GetValue<string>()), ct).ConfigureAwait(false);
                result = existing;
                break;
            }
            default:
                throw new KubernetesApiException(405, StatusReason.MethodNotAllowed, $"{method} is not supported on this resource");
        }
        await WriteJsonAsync(http, 200, result).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext http, ApiRoute route, CancellationToken ct)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        var q = http.Request.Query;
        var options = new WatchOptions(q["labelSelector"].ToString() is { Length: > 0 } ls ? ls : null,
            q["resourceVersion"].ToString() is { Length: > 0 } rv ? rv : null);
        var timeout = int.TryParse(q["timeoutSeconds"], out var t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
        try
        {
            await foreach (var e in Cluster.WatchAsync(route.Type, route.Namespace, options, cts.Token).ConfigureAwait(false))
            {
                var line = new JsonObject { ["type"] = e.Type.ToString().ToUpperInvariant(), ["object"] = e.Object }.ToJsonString() + "\n";
                await http.Response.WriteAsync(line, cts.Token).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (KubernetesApiException e)
        {
            // As kube-apiserver does once a watch has started: the failure is an ERROR event carrying a Status.
            var status = new JsonObject
            {
                ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
                ["message"] = e.Message, ["reason"] = e.Reason.ToString(), ["code"] = e.StatusCode,
            };
            await http.Response.WriteAsync(new JsonObject { ["type"] = "ERROR", ["object"] = status }.ToJsonString() + "\n", ct).ConfigureAwait(false);
        }
    }

    private async Task<bool> DiscoveryAsync(HttpContext http, string path)
    {
        var resources = (await Cluster.DiscoverAsync().ConfigureAwait(false)).Resources;
        switch (path)
        {
            case "version":
                await WriteJsonAsync(http, 200, new JsonObject { ["major"] = "1", ["minor"] = "31", ["gitVersion"] = "v1.31.0-kubestead-sandbox", ["platform"] = "linux/amd64" }).ConfigureAwait(false);
                return true;
            case "api":
                await WriteJsonAsync(http, 200, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1"), ["serverAddressByClientCIDRs"] = new JsonArray() }).ConfigureAwait(false);
                return true;
            case "apis":
                var groups = resources.Where(r => r.Group.Length > 0).GroupBy(r => r.Group).Select(g =>
                {
                    var versions = g.Select(r => r.Version).Distinct().ToList();
                    return (JsonNode?)new JsonObject
                    {
                        ["name"] = g.Key,
                        ["versions"] = new JsonArray(versions.Select(v => (JsonNode?)new JsonObject { ["groupVersion"] = $"{g.Key}/{v}", ["version"] = v }).ToArray()),
                        ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{g.Key}/{versions[0]}", ["version"] = versions[0] },
                    };
                }).ToArray();
                await WriteJsonAsync(http, 200, new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = new JsonArray(groups) }).ConfigureAwait(false);
                return true;
        }
        var parts = path.Split('/');
        string? group = null, version = null;
        if (parts is ["api", var v]) (group, version) = ("", v);
        else if (parts is ["apis", var g, var v2]) (group, version) = (g, v2);
        else if (parts is ["apis", var g2])
        {
            var versions = resources.Where(r => r.Group == g2).Select(r => r.Version).Distinct().ToList();
            if (versions.Count == 0) return false;
            await WriteJsonAsync(http, 200, new JsonObject
            {
                ["kind"] = "APIGroup", ["apiVersion"] = "v1", ["name"] = g2,
                ["versions"] = new JsonArray(versions.Select(v => (JsonNode?)new JsonObject { ["groupVersion"] = $"{g2}/{v}", ["version"] = v }).ToArray()),
                ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{g2}/{versions[0]}", ["version"] = versions[0] },
            }).ConfigureAwait(false);
            return true;
        }
        if (group is null) return false;
        var served = resources.Where(r => r.Group == group && r.Version == version).ToList();
        if (served.Count == 0) return false;
        var list = new JsonArray();
        foreach (var r in served)
        {
            list.Add((JsonNode)new JsonObject
            {
                ["name"] = r.Plural, ["singularName"] = r.Kind.ToLowerInvariant(), ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
            });
            if (r == ResourceType.Deployment)
            {
                list.Add((JsonNode)new JsonObject { ["name"] = "deployments/scale", ["namespaced"] = true, ["kind"] = "Scale", ["group"] = "autoscaling", ["version"] = "v1", ["verbs"] = new JsonArray("get", "patch", "update") });
                list.Add((JsonNode)new JsonObject { ["name"] = "deployments/status", ["namespaced"] = true, ["kind"] = "Deployment", ["verbs"] = new JsonArray("get", "patch", "update") });
            }
            if (r == Kubestead.Traffic.HpaGuard.HorizontalPodAutoscaler)
                list.Add((JsonNode)new JsonObject { ["name"] = "horizontalpodautoscalers/status", ["namespaced"] = true, ["kind"] = "HorizontalPodAutoscaler", ["verbs"] = new JsonArray("get", "patch", "update") });
        }
        await WriteJsonAsync(http, 200, new JsonObject
        {
            ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}", ["resources"] = list,
        }).ConfigureAwait(false);
        return true;
    }

    private static bool MatchesFieldSelector(JsonObject obj, string selector)
    {
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = term.Split('=', 2);
            var actual = p[0].Trim() switch
            {
                "metadata.name" => obj["metadata"]?["name"]?.GetValue<string>(),
                "metadata.namespace" => obj["metadata"]?["namespace"]?.GetValue<string>(),
                _ => null,
            };
            if (actual != p.ElementAtOrDefault(1)?.Trim('=').Trim()) return false;
        }
        return true;
    }

    private static KubernetesApiException Bad(string message) => new(400, StatusReason.BadRequest, message);

    private static Task WriteJsonAsync(HttpContext http, int code, JsonNode body)
    {
        http.Response.StatusCode = code;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(body.ToJsonString());
    }

    private static Task WriteStatusAsync(HttpContext http, int code, string reason, string message, ObjectReference? target, IReadOnlyList<StatusCause>? causes = null)
    {
        var details = new JsonObject();
        if (target is not null)
        {
            details["name"] = target.Name;
            details["group"] = target.Type.Group;
            details["kind"] = target.Type.Plural;
        }
        if (causes is { Count: > 0 })
            details["causes"] = new JsonArray(causes.Select(c => (JsonNode?)new JsonObject { ["field"] = c.Field, ["reason"] = c.Reason, ["message"] = c.Message }).ToArray());
        var status = new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
            ["message"] = message, ["details"] = details, ["code"] = code,
        };
        // kube-apiserver sends no reason for errors it has no StatusReason for (e.g. a create carrying a resourceVersion).
        if (reason != nameof(StatusReason.Unknown)) status["reason"] = reason;
        return WriteJsonAsync(http, code == 0 ? 500 : code, status);
    }
}

/// <summary>A resource path: type, namespace, name, subresource.</summary>
internal sealed record ApiRoute(ResourceType Type, string? Namespace, string? Name, string? Subresource)
{
    public static ApiRoute? Parse(string path, IReadOnlyList<ResourceType> served)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group, version;
        int i;
        if (parts.Length >= 2 && parts[0] == "api") { group = ""; version = parts[1]; i = 2; }
        else if (parts.Length >= 3 && parts[0] == "apis") { group = parts[1]; version = parts[2]; i = 3; }
        else return null;
        var rest = parts[i..];
        string? ns = null;
        if (rest.Length >= 3 && rest[0] == "namespaces")
        {
            ns = Uri.UnescapeDataString(rest[1]);
            rest = rest[2..];
        }
        if (rest.Length == 0) return null;
        var type = served.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == rest[0]);
        if (type is null) return null;
        if (!type.Namespaced && ns is not null) return null;
        return new ApiRoute(type, type.Namespaced ? ns : null, rest.Length > 1 ? Uri.UnescapeDataString(rest[1]) : null, rest.Length > 2 ? rest[2] : null);
    }
}
