using System.Globalization;
using System.Text;
using Kubestead.Reports;

namespace Kubestead.Cli;

/// <summary>
/// `kubestead history -o csv`: RFC 4180 (quoted where needed, CRLF line ends), a header of the JSON field names, times
/// in ISO 8601 UTC, numbers in invariant culture. Text from the cluster that a spreadsheet would run as a formula
/// (starting with =, +, -, @) is prefixed with an apostrophe.
/// </summary>
public static class HistoryCsv
{
    private static readonly string[] Header =
    [
        "name", "namespace", "at", "kind", "message", "canaryWeight", "windowStart", "windowsMerged", "metric", "judge", "outcome",
        "canaryRequests", "canaryFailures", "canaryFailureRate", "controlRequests", "controlFailures", "controlFailureRate",
        "canaryP95Ms", "controlP95Ms", "eValue", "passEValue", "threshold", "driver",
    ];

    public static string Write(IReadOnlyList<RolloutHistoryRow> rows)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(",", Header)).Append("\r\n");
        foreach (var r in rows)
        {
            string?[] cells =
            [
                Text(r.Name), Text(r.Namespace), Time(r.At), Text(r.Kind), Text(r.Message), Num(r.CanaryWeight), Time(r.WindowStart), Num(r.WindowsMerged),
                Text(r.Metric), Text(r.Judge), Text(r.Outcome), Num(r.CanaryRequests), Num(r.CanaryFailures), Num(r.CanaryFailureRate),
                Num(r.ControlRequests), Num(r.ControlFailures), Num(r.ControlFailureRate), Num(r.CanaryP95Ms), Num(r.ControlP95Ms),
                Num(r.EValue), Num(r.PassEValue), Num(r.Threshold), Text(r.Driver),
            ];
            sb.Append(string.Join(",", cells.Select(Quote))).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string? Text(string? s) => s is { Length: > 0 } && s[0] is '=' or '+' or '-' or '@' ? "'" + s : s;

    private static string? Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static string? Num(double? v) => v?.ToString("R", CultureInfo.InvariantCulture);

    private static string? Num(long? v) => v?.ToString(CultureInfo.InvariantCulture);

    private static string? Num(int? v) => v?.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string? cell) => cell is null ? ""
        : cell.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}
