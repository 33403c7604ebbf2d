using System.Text;
using System.Text.RegularExpressions;

namespace Kubestead.Traffic;

/// <summary>
/// A header route that matches a cookie: the request carries cookie <see cref="Name"/> whose value is <see cref="Value"/>
/// (or, with <see cref="IsRegex"/>, matches it as a whole). Meshes that match headers by regular expression see it as
/// <see cref="HeaderRegex"/> on the <c>cookie</c> header; ingress-nginx can use <see cref="Name"/> for canary-by-cookie.
/// </summary>
public sealed partial record CookieMatch(string Name, string Value, bool IsRegex = false)
{
    /// <summary>The request header cookies travel in (HTTP/2 may split it; Envoy and Linkerd join it again before matching).</summary>
    public const string Header = "cookie";

    /// <summary>
    /// A regular expression over the whole <c>cookie</c> header that holds when one of its cookies is <c>name=value</c>. It
    /// is anchored at both ends so it means the same under full-match semantics (Envoy, so Istio) and under search
    /// semantics (Linkerd's proxy): the cookie starts the header or follows "; ", and ends the header or a ";" follows.
    /// Only RE2 syntax is used (no lookaround), which every mesh's engine accepts.
    /// </summary>
    public string HeaderRegex => $"^(.*;\\s*)?{EscapeValue(Name)}=({(IsRegex ? Value : EscapeValue(Value))})(;.*)?$";

    /// <summary>Escapes a cookie value for RE2 and .NET alike: only the metacharacters, nothing else.</summary>
    public static string EscapeValue(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if ("\\.+*?()|[]{}^$".Contains(c, StringComparison.Ordinal)) sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>What is wrong with a cookie match (RFC 6265 names and values; regexes that RE2 and .NET both accept), or null.</summary>
    public static string? Problem(string name, string value, bool isRegex)
    {
        if (name.Length == 0) return "the cookie name is empty";
        // RFC 6265: the name is an RFC 2616 token.
        var badName = name.FirstOrDefault(c => c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal));
        if (badName != default) return $"the cookie name '{name}' contains '{badName}', which a cookie name cannot hold (RFC 6265 token)";
        if (!isRegex)
        {
            if (value.Length == 0) return "the cookie value is empty; give value or regex";
            // RFC 6265 cookie-octet: no controls, whitespace, double quote, comma, semicolon or backslash.
            var badValue = value.FirstOrDefault(c => c <= 0x20 || c >= 0x7f || c is '"' or ',' or ';' or '\\');
            if (badValue != default) return $"the cookie value '{value}' contains '{badValue}', which a cookie value cannot hold (RFC 6265 cookie-octet)";
            return null;
        }
        if (value.Length == 0) return "the cookie regex is empty";
        if (Re2Unsupported().Match(value) is { Success: true } m)
            return $"the cookie regex uses '{m.Value}', which RE2 (Istio's and Linkerd's engine) does not support";
        if (value.StartsWith('^') || value.EndsWith('$'))
            return "the cookie regex must not be anchored: it matches the value of one cookie, and Kubestead anchors it within the cookie header";
        try
        {
            _ = new Regex(value, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            return $"the cookie regex '{value}' is not a valid regular expression: {e.Message}";
        }
        return null;
    }

    [GeneratedRegex(@"\(\?<?[=!]|\\[1-9]|\(\?<[A-Za-z]")]
    private static partial Regex Re2Unsupported();
}
