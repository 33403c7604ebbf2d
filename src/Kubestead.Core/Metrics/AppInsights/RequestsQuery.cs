using System.Globalization;
using System.Text;

namespace Kubestead.Metrics.AppInsights;

/// <summary>
/// The KQL over <c>requests</c> for one window: both versions in one query, summarised by the column that tells them
/// apart. Latency comes as cumulative bucket counts (<c>sumif(itemCount, duration &lt;= bound)</c>), the same form as a
/// Prometheus histogram, so the judges read it unchanged; the judge's own threshold is one of the bounds, so a
/// threshold judgement is exact rather than interpolated.
/// </summary>
public static class RequestsQuery
{
    /// <summary>Bucket bounds in milliseconds (<c>duration</c> is in milliseconds).</summary>
    public static readonly double[] Bounds = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    /// <summary>The bounds a window reads: <see cref="Bounds"/> plus <paramref name="thresholdMs"/>.</summary>
    public static double[] BoundsWith(double? thresholdMs) =>
        (thresholdMs is { } t ? Bounds.Append(t) : Bounds).Distinct().Order().ToArray();

    public static string Build(string versionBy, string canary, string control, DateTimeOffset start, DateTimeOffset end, IReadOnlyList<double>? bounds)
    {
        var sb = new StringBuilder("requests\n");
        sb.Append(CultureInfo.InvariantCulture, $"| where timestamp >= datetime({Instant(start)}) and timestamp < datetime({Instant(end)})\n");
        sb.Append(CultureInfo.InvariantCulture, $"| where {versionBy} in ({Quote(canary)}, {Quote(control)})\n");
        sb.Append("| summarize requests = sum(itemCount), failures = sumif(itemCount, success == false)");
        for (var i = 0; i < (bounds?.Count ?? 0); i++)
            sb.Append(CultureInfo.InvariantCulture, $", le_{i} = sumif(itemCount, duration <= {bounds![i].ToString("0.###", CultureInfo.InvariantCulture)})");
        sb.Append(CultureInfo.InvariantCulture, $" by version = {versionBy}");
        return sb.ToString();
    }

    private static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>A KQL string literal; the values are validated at spec reading, this keeps a quote from ever closing it.</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
