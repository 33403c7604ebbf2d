using System.Globalization;
using System.Text.RegularExpressions;

namespace Kubestead.Specs;

/// <summary>Go/Kubernetes-style durations: <c>30s</c>, <c>5m</c>, <c>1h30m</c>, <c>250ms</c>.</summary>
public static partial class SpecDuration
{
    [GeneratedRegex(@"^(?:(\d+(?:\.\d+)?)(h|ms|m|s))+$")]
    private static partial Regex Whole();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s)")]
    private static partial Regex Part();

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || !Whole().IsMatch(text)) return false;
        foreach (Match m in Part().Matches(text))
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            value += m.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMilliseconds(n),
            };
        }
        return true;
    }

    public static string Format(TimeSpan d)
    {
        if (d <= TimeSpan.Zero) return "0s";
        var s = "";
        if (d.TotalHours >= 1) s += $"{(int)d.TotalHours}h";
        if (d.Minutes > 0) s += $"{d.Minutes}m";
        if (d.Seconds > 0) s += $"{d.Seconds}s";
        if (d.Milliseconds > 0) s += $"{d.Milliseconds}ms";
        return s;
    }
}
