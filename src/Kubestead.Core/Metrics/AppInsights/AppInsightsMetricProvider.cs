using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Metrics.AppInsights;

/// <summary>
/// The <c>appInsights</c> provider: one POST of a KQL query per window to <c>/v1/apps/{appId}/query</c>, answering a
/// row per version. A version with no row had no requests in the window: zero, which the judges read as insufficient
/// data, never as a pass.
/// </summary>
public sealed class AppInsightsMetricProvider(HttpClient http, TlsHttpClients tlsClients, IKubernetesApi? api = null, TimeProvider? clock = null,
    Func<string, string?>? environment = null) : IMetricProvider
{
    public string Kind => AppInsightsSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        var ai = (AppInsightsProviderSpec)metric.Provider;
        var (canaryWorkload, controlWorkload) = PrometheusMetricProvider.Workloads(spec);
        var (canary, control) = (ai.Canary ?? canaryWorkload, ai.Control ?? controlWorkload);
        var connection = new MetricsHttpConnection(http, tlsClients, ai.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"Application Insights at {UrlRedaction.Redact(ai.Address)}", $"{ai.Field}.appId", clock, environment);
        var url = new Uri(ai.Address, $"v1/apps/{Uri.EscapeDataString(ai.AppId)}/query");
        var bounds = metric.Judge.ReadsLatency ? RequestsQuery.BoundsWith(metric.Judge.LatencyThresholdMs ?? metric.Judge.MaxP99Ms) : null;
        return async (start, end, ct) =>
        {
            var body = new JsonObject
            {
                ["query"] = RequestsQuery.Build(ai.VersionBy, canary, control, start, end, bounds),
                ["timespan"] = $"{start.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}/{end.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}",
            }.ToJsonString();
            var answer = await connection.SendAsync(HttpMethod.Post, url, () => new StringContent(body, Encoding.UTF8, "application/json"), ai.Timeout, ct)
                .ConfigureAwait(false);
            var rows = Rows(connection, ai, answer);
            return new MetricWindow(start, end, Sample(rows, canary, bounds), Sample(rows, control, bounds));
        };
    }

    /// <summary>The first table's rows as column name to value, by the version column.</summary>
    private static Dictionary<string, Dictionary<string, JsonNode?>> Rows(MetricsHttpConnection connection, AppInsightsProviderSpec ai, MetricsHttpAnswer answer)
    {
        JsonObject? json = null;
        // Another shape (an array, a string) is read as no answer rather than thrown on by the indexers below.
        try { json = JsonNode.Parse(answer.Body) as JsonObject; } catch (System.Text.Json.JsonException) { }
        if (!answer.IsSuccess)
            throw new MetricsUnavailableException($"{connection.Server} ({ai.Field}) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{AzureError(json)}");
        if (json?["tables"] is not JsonArray { Count: > 0 } tables || tables[0] is not JsonObject table
            || table["columns"] is not JsonArray columns || table["rows"] is not JsonArray rows)
            throw new MetricsUnavailableException($"{connection.Server} ({ai.Field}) answered HTTP {answer.Status} without a result table");
        var names = columns.Select(c => c is JsonObject o && o["name"] is JsonValue n && n.TryGetValue<string>(out var name) ? name : "").ToList();
        var byVersion = new Dictionary<string, Dictionary<string, JsonNode?>>(StringComparer.Ordinal);
        foreach (var row in rows.OfType<JsonArray>())
        {
            var cells = names.Select((n, i) => (n, i < row.Count ? row[i] : null)).ToDictionary(c => c.n, c => c.Item2, StringComparer.Ordinal);
            if (cells.TryGetValue("version", out var v) && v is JsonValue version && version.TryGetValue<string>(out var name)) byVersion[name] = cells;
        }
        return byVersion;
    }

    private static VersionSample Sample(Dictionary<string, Dictionary<string, JsonNode?>> rows, string version, double[]? bounds)
    {
        if (!rows.TryGetValue(version, out var row)) return VersionSample.Empty;
        var requests = Count(row, "requests");
        LatencyHistogram? latency = null;
        if (bounds is not null)
            latency = new LatencyHistogram([.. bounds, double.PositiveInfinity], [.. bounds.Select((_, i) => Count(row, $"le_{i}")), requests]);
        return new VersionSample(requests, Math.Min(Count(row, "failures"), requests), latency);
    }

    private static long Count(Dictionary<string, JsonNode?> row, string column) =>
        row.TryGetValue(column, out var cell) && cell is JsonValue v
            ? v.TryGetValue<double>(out var d) ? (long)Math.Round(d)
            : v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? (long)Math.Round(d) : 0
            : 0;

    /// <summary>Azure's error body (<c>{"error": {"code", "message", "innererror": {...}}}</c>): the innermost code and message.</summary>
    internal static string AzureError(JsonObject? json)
    {
        if (json?["error"] is not JsonObject error) return "";
        var (code, message) = ("", "");
        for (var e = error; e is not null; e = e["innererror"] as JsonObject)
        {
            if (e["code"] is JsonValue c && c.TryGetValue<string>(out var cs)) code = cs;
            if (e["message"] is JsonValue m && m.TryGetValue<string>(out var ms)) message = ms;
        }
        return $": {code}{(message.Length > 0 ? ": " + message : "")}";
    }
}
