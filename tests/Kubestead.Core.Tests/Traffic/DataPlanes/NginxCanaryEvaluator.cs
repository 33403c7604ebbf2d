using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Core.Tests.Traffic.DataPlanes;

/// <summary>One request as ingress-nginx sees it: header names are case-insensitive, cookies by name.</summary>
public sealed record NginxRequest(IReadOnlyDictionary<string, string> Headers, IReadOnlyDictionary<string, string> Cookies)
{
    public static NginxRequest Plain { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());

    public static NginxRequest WithHeader(string name, string value) =>
        new(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [name] = value }, new Dictionary<string, string>());

    public static NginxRequest WithCookie(string name, string value) =>
        new(new Dictionary<string, string>(), new Dictionary<string, string> { [name] = value });
}

/// <summary>
/// Where ingress-nginx sends a request for a location that has a canary Ingress, written from its documented rules (the
/// canary annotations page and the annotation validators), not from its code: an annotation the validator rejects is
/// read as empty; then header (value, else pattern, else always/never), cookie (always/never), and last the weight out
/// of a total that counts only above 100. Returns the chance the request reaches the canary (0, 1, or the weight share).
/// </summary>
public static class NginxCanaryEvaluator
{
    // The validators' character sets: "basic chars" (spaces removed before the check) for names and exact values, the
    // regex set for patterns; CR and LF are refused everywhere.
    private static readonly Regex BasicChars = new(@"^[/\-\._~a-zA-Z0-9:]*$");
    private static readonly Regex RegexChars = new(@"^[/\-\._~a-zA-Z0-9:\^\$\[\]\(\)\{\}\*\+\?\|&=\\]*$");

    public static double CanaryChance(JsonObject canaryIngress, NginxRequest request)
    {
        var a = canaryIngress["metadata"]?["annotations"] as JsonObject;
        string Raw(string key) => a?["nginx.ingress.kubernetes.io/" + key]?.GetValue<string>() ?? "";
        string Basic(string key) { var v = Raw(key); return Valid(BasicChars, v.Replace(" ", "", StringComparison.Ordinal)) ? v : ""; }
        if (!string.Equals(Raw("canary"), "true", StringComparison.OrdinalIgnoreCase)) return 0;

        var header = Basic("canary-by-header");
        if (header.Length > 0 && request.Headers.TryGetValue(header, out var sent))
        {
            var value = Basic("canary-by-header-value");
            var pattern = Valid(RegexChars, Raw("canary-by-header-pattern")) ? Raw("canary-by-header-pattern") : "";
            if (value.Length > 0) { if (value == sent) return 1; }
            else if (pattern.Length > 0) { if (Regex.IsMatch(sent, pattern)) return 1; }
            else if (sent == "always") return 1;
            else if (sent == "never") return 0;
        }
        var cookie = Basic("canary-by-cookie");
        if (cookie.Length > 0 && request.Cookies.TryGetValue(cookie, out var jar))
        {
            if (jar == "always") return 1;
            if (jar == "never") return 0;
        }
        var weight = Int(Raw("canary-weight")) ?? 0;
        var total = Int(Raw("canary-weight-total")) is { } t && t > 100 ? t : 100;
        return Math.Clamp(weight, 0, total) / (double)total;
    }

    /// <summary>
    /// The annotations ingress-nginx's docs say a canary Ingress keeps for its own upstream (load-balance,
    /// upstream-hash-by, session affinity); every other non-canary annotation comes from the main Ingress.
    /// </summary>
    public static IReadOnlyDictionary<string, string> CanaryUpstreamSettings(JsonObject canaryIngress)
    {
        string[] own = ["load-balance", "upstream-hash-by", "upstream-hash-by-subset", "upstream-hash-by-subset-size", "affinity", "affinity-mode"];
        return (canaryIngress["metadata"]?["annotations"] as JsonObject ?? new JsonObject())
            .Where(kv => kv.Key.StartsWith("nginx.ingress.kubernetes.io/", StringComparison.Ordinal))
            .Select(kv => (Key: kv.Key, Short: kv.Key["nginx.ingress.kubernetes.io/".Length..], Value: kv.Value!.GetValue<string>()))
            .Where(a => own.Contains(a.Short) || a.Short.StartsWith("session-cookie-", StringComparison.Ordinal))
            .ToDictionary(a => a.Key, a => a.Value);
    }

    private static bool Valid(Regex set, string v) => set.IsMatch(v) && !v.Contains('\r') && !v.Contains('\n');

    private static int? Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
}
