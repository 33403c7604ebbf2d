using System.Globalization;
using System.Text.RegularExpressions;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// Prometheus's duration strings as its API writes them (<c>15s</c>, <c>1m30s</c>, <c>500ms</c>, <c>1d</c>): units
/// from milliseconds to years, largest first, integers only. Spec durations (no d/w/y) are read by SpecDuration.
/// </summary>
public static partial class PrometheusDuration
{
    [GeneratedRegex(@"^(?:(\d+)(ms|y|w|d|h|m|s))+$")]
    private static partial Regex Whole();

    [GeneratedRegex(@"(\d+)(ms|y|w|d|h|m|s)")]
    private static partial Regex Part();

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (!Whole().IsMatch(text)) return false;
        foreach (Match m in Part().Matches(text))
        {
            var n = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            value += m.Groups[2].Value switch
            {
                "y" => TimeSpan.FromDays(365 * n),
                "w" => TimeSpan.FromDays(7 * n),
                "d" => TimeSpan.FromDays(n),
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMilliseconds(n),
            };
        }
        return true;
    }
}
