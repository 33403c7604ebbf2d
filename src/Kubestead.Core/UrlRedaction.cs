using System.Text.RegularExpressions;

namespace Kubestead;

/// <summary>
/// Hides the user info of URLs (<c>https://user:password@host</c>) in anything Kubestead shows or records: events end up
/// in CI logs and step summaries, and messages in the rollout's state ConfigMap, which many more people can read.
/// </summary>
public static partial class UrlRedaction
{
    public const string Mask = "***";

    [GeneratedRegex(@"(?<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#]+@")]
    private static partial Regex UserInfo();

    /// <summary>Every URL in <paramref name="text"/> with its user info replaced by <see cref="Mask"/>.</summary>
    public static string Redact(string text) => UserInfo().Replace(text, m => m.Groups["scheme"].Value + Mask + "@");

    public static string Redact(Uri address) => Redact(address.ToString());
}
