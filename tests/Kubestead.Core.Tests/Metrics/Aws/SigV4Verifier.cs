using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Kubestead.Metrics.Aws;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace Kubestead.Core.Tests.Metrics.Aws;

/// <summary>
/// What an AWS endpoint checks of a signed request, for the local servers: the Authorization header's scope names the
/// key, date, region and service expected, every header it lists as signed was received, and the signature matches the
/// request as received (path, query, those headers, the body) under the expected secret. The canonical form comes from
/// <see cref="SigV4Signer"/>, whose rules <see cref="SigV4SignerTests"/> pins to AWS's published examples; what this
/// adds is that the request that reached the server is the request that was signed.
/// </summary>
public static partial class SigV4Verifier
{
    /// <summary>Null when the request is signed as expected; else why not.</summary>
    public static async Task<string?> CheckAsync(HttpContext ctx, string accessKeyId, string secret, string region, string service, string? sessionToken = null)
    {
        var match = Authorization().Match(ctx.Request.Headers.Authorization.ToString());
        if (!match.Success) return "no AWS4-HMAC-SHA256 Authorization header";
        var amzDate = ctx.Request.Headers["X-Amz-Date"].ToString();
        if (amzDate.Length != 16) return "no X-Amz-Date";
        var scope = $"{accessKeyId}/{amzDate[..8]}/{region}/{service}/aws4_request";
        if (match.Groups["credential"].Value != scope) return $"credential scope {match.Groups["credential"].Value}, expected {scope}";
        if (sessionToken is not null && ctx.Request.Headers["X-Amz-Security-Token"] != sessionToken) return "wrong or missing X-Amz-Security-Token";
        var signed = match.Groups["signed"].Value.Split(';');
        if (!signed.Contains("host") || !signed.Contains("x-amz-date")) return "host and x-amz-date must be signed";
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var name in signed)
        {
            if (!ctx.Request.Headers.TryGetValue(name, out var values)) return $"signed header {name} was not received";
            headers.Add(new(name, values.ToString()));
        }
        ctx.Request.Body.Position = 0;
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body);
        ctx.Request.Body.Position = 0;
        var expected = SigV4Signer.Sign(ctx.Request.Method, new Uri(ctx.Request.GetEncodedUrl()), headers, SigV4Signer.Hex(SHA256.HashData(body.ToArray())),
            secret, region, service, amzDate, out _);
        return expected == match.Groups["signature"].Value ? null : "signature mismatch";
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<credential>[^,]+), SignedHeaders=(?<signed>[a-z0-9;-]+), Signature=(?<signature>[0-9a-f]{64})$")]
    private static partial Regex Authorization();
}
