using System.Globalization;
using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// A header match as ingress-nginx's canary annotations can hold it. The controller checks each annotation against a
/// character set and, when the check fails, reads the annotation as empty (logging a warning nobody sees), which turns
/// canary-by-header into the bare always/never switch. So names are checked against the "basic" set (letters, digits,
/// <c>-._~/:</c>) and refused; an exact value outside that set, and every prefix, become an anchored
/// canary-by-header-pattern whose other characters are written as <c>\xHH</c>, which the regex set allows.
/// </summary>
public sealed record NginxHeaderMatch(string Header, string? Value, string? Pattern)
{
    private const string BasicChars = "-._~/:";
    private const string RegexMeta = ".^$[](){}*+?|\\";
    private const string RegexSetExtra = "-._~/:^$[](){}*+?|&=\\";

    /// <summary>The annotations for <paramref name="match"/>, or a <see cref="TrafficRoutingException"/> naming the field at fault.</summary>
    public static NginxHeaderMatch For(string route, HeaderMatch match, ObjectReference? target)
    {
        if (Problem(match) is { } problem)
            throw new TrafficRoutingException("NginxHeaderValueRejected", $"header route '{route}': {problem.Field}: {problem.Message}", target);
        return match.Kind switch
        {
            HeaderMatchKind.Exact when IsBasic(match.Value.Replace(" ", "", StringComparison.Ordinal)) => new(match.Name, match.Value, null),
            HeaderMatchKind.Exact => new(match.Name, null, "^" + EscapeLiteral(match.Value) + "$"),
            HeaderMatchKind.Prefix => new(match.Name, null, "^" + EscapeLiteral(match.Value)),
            _ => new(match.Name, null, match.Value),
        };
    }

    /// <summary>The spec field (relative to the match) and what the controller would do with it, or null when it can be written.</summary>
    public static (string Field, string Message)? Problem(HeaderMatch match)
    {
        var isCookie = match.Kind == HeaderMatchKind.Cookie;
        var nameField = isCookie ? "cookie.name" : "headerName";
        if (match.Name.Length == 0 || !IsBasic(match.Name))
            return (nameField, $"'{match.Name}' holds a character ingress-nginx's annotation validator rejects for canary-by-{(isCookie ? "cookie" : "header")} " +
                $"(it allows letters, digits and {BasicChars}), so the controller would drop the route; rename the {(isCookie ? "cookie" : "header")}");
        if (isCookie) return null;
        var kind = match.Kind.ToString().ToLowerInvariant();
        var bad = match.Value.FirstOrDefault(c => c < 0x20 || c >= 0x7f);
        if (bad != default)
            return ($"headerValue.{kind}", $"'{match.Value}' holds U+{(int)bad:X4}; ingress-nginx matches header values as ASCII text without control characters");
        if (match.Kind == HeaderMatchKind.Regex && match.Value.FirstOrDefault(c => !char.IsAsciiLetterOrDigit(c) && !RegexSetExtra.Contains(c)) is var r && r != default)
            return ("headerValue.regex", $"'{match.Value}' holds '{r}', which ingress-nginx's validator rejects in canary-by-header-pattern " +
                $"(it allows letters, digits and {RegexSetExtra}), so the controller would drop the route; write that character as \\x{(int)r:X2}");
        return null;
    }

    /// <summary>A literal for PCRE using only the characters the canary-by-header-pattern validator allows.</summary>
    internal static string EscapeLiteral(string literal)
    {
        var sb = new StringBuilder(literal.Length * 2);
        foreach (var c in literal)
        {
            if (char.IsAsciiLetterOrDigit(c) || "-_~/:&=".Contains(c, StringComparison.Ordinal)) sb.Append(c);
            else if (RegexMeta.Contains(c, StringComparison.Ordinal)) sb.Append('\\').Append(c);
            else sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static bool IsBasic(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || BasicChars.Contains(c, StringComparison.Ordinal));
}
