using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Sandbox.Namerd;

/// <summary>What the emulated namerd answers: status, content type, ETag and body.</summary>
public sealed record NamerdResponse(int Status, string? ContentType = null, string? ETag = null, string Body = "");

/// <summary>
/// namerd's dtab store behind its HTTP controller (<c>io.l5d.httpController</c>), in memory: namespaces with a dtab and
/// a version that changes on every write. GET answers JSON unless <c>application/dtab</c> or <c>text/plain</c> is
/// accepted, with the version (base64) as ETag; PUT with If-Match is a compare-and-set (412 on a stale version, 404 for
/// an unknown namespace), PUT without If-Match overwrites or creates; POST creates; DELETE removes; a body that is not
/// a dtab, or a content type other than those, is 400. With <see cref="StoreParsed"/> the dtab is kept as namerd's
/// storage backends keep it, parsed (comments and spacing gone); by default the text is kept as written.
/// </summary>
public sealed class EmulatedNamerd
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (string Text, long Version)> _namespaces = new(StringComparer.Ordinal);
    private long _nextVersion = 1;

    public bool StoreParsed { get; init; }

    /// <summary>Every request as "METHOD path", in order (for tests).</summary>
    public List<string> Log { get; } = new();

    /// <summary>Fired after each dtab change (the sandbox re-reads routing then).</summary>
    public event Action<string>? Changed;

    public void Seed(string ns, string dtab)
    {
        lock (_gate) _namespaces[ns] = (Store(dtab), _nextVersion++);
        Changed?.Invoke(ns);
    }

    /// <summary>The dtab of a namespace as stored, or null.</summary>
    public string? Peek(string ns)
    {
        lock (_gate) return _namespaces.TryGetValue(ns, out var v) ? v.Text : null;
    }

    public static string VersionString(long version)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, version);
        return Convert.ToBase64String(bytes);
    }

    public NamerdResponse Handle(string method, string path, string? accept, string? contentType, string? ifMatch, string body)
    {
        var response = HandleCore(method.ToUpperInvariant(), path, accept, contentType, ifMatch, body, out var changed);
        if (changed is not null) Changed?.Invoke(changed);
        return response;
    }

    private NamerdResponse HandleCore(string method, string path, string? accept, string? contentType, string? ifMatch, string body, out string? changed)
    {
        changed = null;
        const string prefix = "/api/1/dtabs";
        lock (_gate)
        {
            Log.Add($"{method} {path}");
            if (path != prefix && !path.StartsWith(prefix + "/", StringComparison.Ordinal)) return new NamerdResponse(404);
            var ns = Uri.UnescapeDataString(path.Length > prefix.Length ? path[(prefix.Length + 1)..] : "");
            if (ns.Length == 0)
                return new NamerdResponse(200, "application/json", null, new JsonArray(_namespaces.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode?)k).ToArray()).ToJsonString());
            var exists = _namespaces.TryGetValue(ns, out var current);
            switch (method)
            {
                case "GET":
                case "HEAD":
                {
                    if (!exists) return new NamerdResponse(404);
                    var tag = VersionString(current.Version);
                    if (method == "HEAD") return new NamerdResponse(200, null, tag);
                    var types = (accept ?? "").Split(',').Select(t => t.Split(';')[0].Trim().ToLowerInvariant()).ToList();
                    // namerd takes the first accepted type it knows, JSON when none.
                    var text = types.FirstOrDefault(t => t is "application/json" or "application/dtab" or "text/plain") is "application/dtab" or "text/plain";
                    return text
                        ? new NamerdResponse(200, types.First(t => t is "application/dtab" or "text/plain"), tag, current.Text)
                        : new NamerdResponse(200, "application/json", tag, DtabJson.ToJson(DtabDocument.Parse(current.Text)).ToJsonString());
                }
                case "PUT":
                case "POST":
                {
                    var type = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
                    string text;
                    try
                    {
                        text = type switch
                        {
                            "application/json" => DtabJson.ToText(JsonNode.Parse(body)),
                            "application/dtab" or "text/plain" => DtabDocument.Parse(body).Text,
                            _ => throw new DtabSyntaxException($"unsupported content type '{type}'", 0),
                        };
                    }
                    catch (Exception e) when (e is DtabSyntaxException or System.Text.Json.JsonException)
                    {
                        return new NamerdResponse(400, "text/plain", null, e.Message);
                    }
                    if (method == "POST")
                    {
                        // namerd's create fails (500) when the namespace exists.
                        if (exists) return new NamerdResponse(500);
                    }
                    else if (ifMatch is not null)
                    {
                        if (!exists) return new NamerdResponse(404);
                        if (ifMatch != VersionString(current.Version)) return new NamerdResponse(412);
                    }
                    _namespaces[ns] = (Store(text), _nextVersion++);
                    changed = ns;
                    return new NamerdResponse(204);
                }
                case "DELETE":
                    if (!_namespaces.Remove(ns)) return new NamerdResponse(404);
                    changed = ns;
                    return new NamerdResponse(204);
                default:
                    return new NamerdResponse(404);
            }
        }
    }

    private string Store(string text) => StoreParsed ? DtabDocument.Parse(text).Canonical() : text;
}
