using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kubestead.Metrics.Aws;

/// <summary>
/// AWS Signature Version 4 (the <c>AWS4-HMAC-SHA256</c> algorithm as AWS documents it): a canonical form of the request,
/// a string to sign naming the date, region and service, a key derived from the secret for that day, region and
/// service, and an <c>Authorization</c> header carrying the access key id, the signed header names and the signature.
/// Written from the published algorithm, with no AWS SDK: the SDKs bring their own HTTP stack and credential chain.
/// </summary>
public static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The hex SHA-256 of an empty payload, which a GET carries.</summary>
    public static readonly string EmptyPayloadHash = Hex(SHA256.HashData([]));

    /// <summary>
    /// Signs <paramref name="request"/> in place at <paramref name="now"/>: adds <c>X-Amz-Date</c>,
    /// <c>X-Amz-Security-Token</c> (temporary credentials) and <c>Authorization</c>. Every header the request carries at
    /// this point is signed (the host too; Content-Length aside), so nothing a proxy could alter unnoticed is left out.
    /// </summary>
    public static async Task SignAsync(HttpRequestMessage request, AwsCredentials credentials, string region, string service,
        DateTimeOffset now, CancellationToken ct)
    {
        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        request.Headers.Remove("X-Amz-Date");
        request.Headers.Remove("X-Amz-Security-Token");
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        if (credentials.SessionToken is { Length: > 0 } token) request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", token);
        var payload = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        var uri = request.RequestUri!;
        var headers = new List<KeyValuePair<string, string>> { new("host", uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}") };
        foreach (var (name, values) in request.Headers) headers.Add(new(name, string.Join(",", values)));
        // Content-Length is left unsigned: .NET adds it only once the body is buffered, and a proxy may re-frame the body.
        foreach (var (name, values) in request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) headers.Add(new(name, string.Join(",", values)));
        var signature = Sign(request.Method.Method, uri, headers, Hex(SHA256.HashData(payload)), credentials.SecretAccessKey, region, service, amzDate,
            out var signedHeaders);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"{Algorithm} Credential={credentials.AccessKeyId}/{Scope(amzDate, region, service)}, SignedHeaders={signedHeaders}, Signature={signature}");
    }

    /// <summary>The hex signature of a request given as its parts; <paramref name="signedHeaders"/> receives the names signed.</summary>
    public static string Sign(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, string payloadHash, string secretAccessKey,
        string region, string service, string amzDate, out string signedHeaders)
    {
        var canonical = CanonicalRequest(method, uri, headers, payloadHash, service, out signedHeaders);
        var key = SigningKey(secretAccessKey, amzDate[..8], region, service);
        return Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(StringToSign(amzDate, region, service, canonical))));
    }

    /// <summary>
    /// The canonical request: method, canonical path, canonical query, canonical headers, signed header names and the
    /// payload's hash, each on its own line.
    /// </summary>
    public static string CanonicalRequest(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, string payloadHash, string service,
        out string signedHeaders)
    {
        // Header names are compared lower-case; values are trimmed and inner runs of spaces collapse to one; a header
        // given twice is one line with its values joined by commas, in the order given.
        var byName = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var key = name.Trim().ToLowerInvariant();
            if (!byName.TryGetValue(key, out var list)) byName[key] = list = [];
            list.Add(CollapseSpaces(value));
        }
        signedHeaders = string.Join(";", byName.Keys);
        var text = new StringBuilder();
        text.Append(method.ToUpperInvariant()).Append('\n');
        text.Append(CanonicalPath(uri, service)).Append('\n');
        text.Append(CanonicalQuery(uri)).Append('\n');
        foreach (var (name, values) in byName) text.Append(name).Append(':').Append(string.Join(",", values)).Append('\n');
        text.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);
        return text.ToString();
    }

    /// <summary>The string to sign: the algorithm, the request time, the credential scope and the canonical request's hash.</summary>
    public static string StringToSign(string amzDate, string region, string service, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{Scope(amzDate, region, service)}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>The key for one day, region and service: HMACs chained from "AWS4" + the secret over each, then "aws4_request".</summary>
    public static byte[] SigningKey(string secretAccessKey, string date, string region, string service)
    {
        var key = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        foreach (var part in new[] { date, region, service, "aws4_request" })
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        return key;
    }

    public static string Scope(string amzDate, string region, string service) => $"{amzDate[..8]}/{region}/{service}/aws4_request";

    public static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>
    /// The path with dot segments removed and each segment percent-encoded; every service but S3 expects the encoded
    /// segments encoded once more (S3 signs the path as sent).
    /// </summary>
    private static string CanonicalPath(Uri uri, string service)
    {
        var segments = new List<string>();
        foreach (var raw in uri.AbsolutePath.Split('/'))
        {
            var segment = Uri.UnescapeDataString(raw);
            if (segment == ".") continue;
            if (segment == "..") { if (segments.Count > 0) segments.RemoveAt(segments.Count - 1); continue; }
            segments.Add(segment);
        }
        var trailing = uri.AbsolutePath.Length > 1 && uri.AbsolutePath.EndsWith('/');
        var encoded = segments.Where(s => s.Length > 0).Select(s => service == "s3" ? Encode(s) : Encode(Encode(s)));
        var path = "/" + string.Join("/", encoded);
        return trailing && path != "/" ? path + "/" : path;
    }

    /// <summary>Each name and value decoded then encoded strictly (RFC 3986 unreserved characters only), sorted by name, then value.</summary>
    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0) return "";
        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var eq = p.IndexOf('=');
            var (name, value) = eq < 0 ? (p, "") : (p[..eq], p[(eq + 1)..]);
            return (Name: Encode(Uri.UnescapeDataString(name)), Value: Encode(Uri.UnescapeDataString(value)));
        });
        return string.Join("&", pairs.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal).Select(p => p.Name + "=" + p.Value));
    }

    /// <summary>Percent-encodes every byte of the UTF-8 form except A-Z, a-z, 0-9, '-', '_', '.', '~', with upper-case hex.</summary>
    public static string Encode(string value)
    {
        var text = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                text.Append((char)b);
            else
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        return text.ToString();
    }

    private static string CollapseSpaces(string value)
    {
        var text = new StringBuilder();
        foreach (var c in value.Trim())
            if (c != ' ' || text.Length == 0 || text[^1] != ' ') text.Append(c);
        return text.ToString();
    }
}
