using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// namerd's HTTP controller (<c>io.l5d.httpController</c>): <c>GET /api/1/dtabs</c> lists namespaces;
/// <c>GET /api/1/dtabs/&lt;ns&gt;</c> returns the dtab (JSON by default, text with <c>Accept: application/dtab</c>) and
/// its version as the ETag; <c>PUT</c> with <c>If-Match: &lt;version&gt;</c> is a compare-and-set answered 204, or
/// 412 when the dtab changed since, 404 when the namespace does not exist, 400 for a dtab namerd cannot read.
/// </summary>
public sealed class NamerdClient(HttpClient http, Uri address)
{
    public const string DtabMediaType = "application/dtab";

    public Uri Address { get; } = new(address.ToString().TrimEnd('/') + "/");

    private Uri DtabUri(string ns) => new(Address, "api/1/dtabs/" + Uri.EscapeDataString(ns));

    public async Task<IReadOnlyList<string>> ListNamespacesAsync(CancellationToken ct)
    {
        using var rsp = await SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(Address, "api/1/dtabs")), "list namespaces", ct).ConfigureAwait(false);
        await EnsureAsync(rsp, "list namespaces", null, ct).ConfigureAwait(false);
        var json = JsonNode.Parse(await rsp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)) as JsonArray;
        return json?.Select(n => n?.GetValue<string>() ?? "").ToList() ?? [];
    }

    /// <summary>The dtab and its version, or null when namerd has no such namespace.</summary>
    public async Task<VersionedDtab?> TryGetAsync(string ns, CancellationToken ct)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, DtabUri(ns));
        req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(DtabMediaType));
        using var rsp = await SendAsync(req, $"read dtab namespace '{ns}'", ct).ConfigureAwait(false);
        if (rsp.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(rsp, $"read dtab namespace '{ns}'", ns, ct).ConfigureAwait(false);
        var version = rsp.Headers.TryGetValues("ETag", out var tags) ? tags.FirstOrDefault() : null;
        if (string.IsNullOrEmpty(version))
            throw new NamerdException("NamerdNoVersion", KubesteadErrorKind.InvalidState,
                $"namerd at {UrlRedaction.Redact(Address)} sent dtab namespace '{ns}' without an ETag; Kubestead writes dtabs only by compare-and-set");
        var body = await rsp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        // A namerd that ignores Accept answers JSON; its dentries are equivalent, only comments and spacing are absent.
        var text = rsp.Content.Headers.ContentType?.MediaType == "application/json" ? DtabJson.ToText(JsonNode.Parse(body)) : body;
        return new VersionedDtab(text, version);
    }

    /// <summary>Compare-and-set: writes <paramref name="text"/> only if the dtab is still at <paramref name="version"/>.</summary>
    public async Task PutAsync(string ns, string text, string version, CancellationToken ct)
    {
        var req = new HttpRequestMessage(HttpMethod.Put, DtabUri(ns)) { Content = new StringContent(text, Encoding.UTF8) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue(DtabMediaType);
        // namerd's versions are bare base64, not quoted entity tags, so they are sent as they came.
        req.Headers.TryAddWithoutValidation("If-Match", version);
        using var rsp = await SendAsync(req, $"write dtab namespace '{ns}'", ct).ConfigureAwait(false);
        await EnsureAsync(rsp, $"write dtab namespace '{ns}'", ns, ct).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage req, string what, CancellationToken ct)
    {
        try
        {
            return await http.SendAsync(req, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new NamerdException("NamerdUnreachable", KubesteadErrorKind.Unavailable, $"namerd at {UrlRedaction.Redact(Address)} did not answer ({what}): {e.Message}", null, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new NamerdException("NamerdTimeout", KubesteadErrorKind.Unavailable, $"namerd at {UrlRedaction.Redact(Address)} timed out ({what})", null, e);
        }
    }

    private async Task EnsureAsync(HttpResponseMessage rsp, string what, string? ns, CancellationToken ct)
    {
        if (rsp.IsSuccessStatusCode) return;
        var status = (int)rsp.StatusCode;
        var body = (await rsp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Trim();
        var detail = body.Length == 0 ? "" : $": {(body.Length > 300 ? body[..300] + "..." : body)}";
        throw status switch
        {
            412 => new NamerdException("DtabVersionConflict", KubesteadErrorKind.Conflict,
                $"{what}: the dtab changed since it was read (412 Precondition Failed); nothing was written", status),
            404 => new NamerdException("DtabNamespaceNotFound", KubesteadErrorKind.NotFound,
                $"{what}: namerd at {UrlRedaction.Redact(Address)} has no dtab namespace '{ns}' (404)", status),
            400 => new NamerdException("DtabRejected", KubesteadErrorKind.InvalidInput, $"{what}: namerd rejected the request (400){detail}", status),
            401 or 403 => new NamerdException("NamerdForbidden", KubesteadErrorKind.PermissionDenied, $"{what}: namerd refused ({status})", status),
            _ => new NamerdException("NamerdError", KubesteadErrorKind.Unavailable, $"{what}: namerd answered {status}{detail}", status),
        };
    }
}
