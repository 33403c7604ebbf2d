using System.Globalization;
using System.Text;
using Kubestead.Analysis;
using Kubestead.Reports;
using Kubestead.Rollouts;

namespace Kubestead.Cli;

/// <summary>
/// The small chart in a GitHub step summary: a Mermaid <c>xychart-beta</c> (GitHub renders it) of the canary weight and
/// the canary and control failure rates per analysis window, in percent, at most <see cref="MaxPoints"/> points.
/// </summary>
public static class SummaryChart
{
    public const int MaxPoints = 24;

    /// <summary>The fenced mermaid block, or null when nothing was analysed.</summary>
    public static string? Mermaid(RolloutResult r)
    {
        var windows = r.Timeline?.Windows ?? Array.Empty<TimelineWindow>();
        if (windows.Count == 0) return null;
        var metric = r.Timeline!.Judges.FirstOrDefault()?.Metric ?? windows[0].Metrics.FirstOrDefault()?.Metric;
        var buckets = Buckets(windows, MaxPoints);
        var labels = buckets.Select(b => Quote(SvgTimeChart.Elapsed(b[^1].End - r.StartedAt))).ToList();
        var weight = buckets.Select(b => b[^1].CanaryWeight).ToList();
        var canary = buckets.Select(b => RatePercent(b, metric, canary: true)).ToList();
        var control = buckets.Select(b => RatePercent(b, metric, canary: false)).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("```mermaid");
        sb.AppendLine("xychart-beta");
        sb.AppendLine("    title \"Canary weight, canary and control failure rate (%)\"");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    x-axis \"time since start\" [{string.Join(", ", labels)}]");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    y-axis \"percent\" 0 --> {Math.Max(10, Math.Ceiling(weight.Concat(canary).Concat(control).Max() / 10) * 10)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    line [{Join(weight)}]");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    line [{Join(canary)}]");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    line [{Join(control)}]");
        sb.AppendLine("```");
        sb.Append(CultureInfo.InvariantCulture, $"Lines, in order: canary weight, canary failure rate, control failure rate ({metric}), per analysis window.");
        return sb.ToString();
    }

    private static List<TimelineWindow[]> Buckets(IReadOnlyList<TimelineWindow> windows, int max)
    {
        var size = (int)Math.Ceiling(windows.Count / (double)max);
        return windows.Chunk(Math.Max(1, size)).ToList();
    }

    private static double RatePercent(IEnumerable<TimelineWindow> bucket, string? metric, bool canary)
    {
        var ms = bucket.SelectMany(w => w.Metrics.Where(m => m.Metric == metric)).ToList();
        var n = ms.Sum(m => canary ? m.CanaryRequests : m.ControlRequests);
        var f = ms.Sum(m => canary ? m.CanaryFailures : m.ControlFailures);
        return n == 0 ? 0 : Math.Round(100.0 * f / n, 3);
    }

    private static string Join(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)));

    private static string Quote(string s) => "\"" + s.Replace("\"", "'") + "\"";
}
