using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Datadog;

/// <summary>
/// The <c>datadog</c> provider: per window and version, one GET of <c>/api/v1/query?from=&amp;to=&amp;query=</c> for
/// requests and one for failures; a window's count is the sum of the points stamped inside it (with
/// <c>.as_count()</c> each point counts its own interval). No series, or only null points, is zero: insufficient data.
/// </summary>
public sealed class DatadogMetricProvider(HttpClient http, TlsHttpClients tlsClients, IKubernetesApi? api = null, TimeProvider? clock = null) : IMetricProvider
{
    public string Kind => DatadogSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        var dd = (DatadogProviderSpec)metric.Provider;
        var connection = new MetricsHttpConnection(http, tlsClients, dd.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"Datadog at {UrlRedaction.Redact(dd.Address)}", $"{dd.Field}.site", clock);
        return VersionWindows.Of(spec, (workload, start, end, ct) => SampleAsync(connection, dd, spec.Namespace, workload, start, end, ct));
    }

    private static async Task<VersionSample> SampleAsync(MetricsHttpConnection connection, DatadogProviderSpec dd, string ns, string workload,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var values = VersionWindows.Variables(ns, workload);
        var requests = await SumAsync(connection, dd, "requestsQuery", DatadogSpecBlock.Render(dd.RequestsQuery, values), start, end, ct).ConfigureAwait(false);
        var failures = await SumAsync(connection, dd, "failuresQuery", DatadogSpecBlock.Render(dd.FailuresQuery, values), start, end, ct).ConfigureAwait(false);
        var r = (long)Math.Round(requests);
        return new VersionSample(r, Math.Min((long)Math.Round(failures), r));
    }

    private static async Task<double> SumAsync(MetricsHttpConnection connection, DatadogProviderSpec dd, string key, string query,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var url = new Uri(dd.Address, $"api/v1/query?from={start.ToUnixTimeSeconds()}&to={end.ToUnixTimeSeconds()}&query={Uri.EscapeDataString(query)}");
        var answer = await connection.GetAsync(url, dd.Timeout, ct).ConfigureAwait(false);
        JsonObject? json = null;
        // Another shape (an array, a string) is read as no answer rather than thrown on by the indexers below.
        try { json = JsonNode.Parse(answer.Body) as JsonObject; } catch (System.Text.Json.JsonException) { }
        var field = $"{dd.Field}.{key}";
        if (!answer.IsSuccess)
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{Errors(json)}");
        if (json is null)
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} with a body that is not JSON");
        if (json["status"] is JsonValue s && s.TryGetValue<string>(out var status) && status != "ok")
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered status '{status}'{(json["error"] is JsonValue e ? ": " + e : "")}");
        var (from, to) = (start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds());
        var sum = 0.0;
        foreach (var series in json["series"] as JsonArray ?? [])
            foreach (var point in (series as JsonObject)?["pointlist"] as JsonArray ?? [])
                if (point is JsonArray { Count: >= 2 } pair && pair[0] is JsonValue t && t.TryGetValue<double>(out var ms) && ms >= from && ms < to
                    && pair[1] is JsonValue v && v.TryGetValue<double>(out var value) && double.IsFinite(value))
                    sum += value;
        return sum;
    }

    /// <summary>Datadog's error body: <c>{"errors": ["..."]}</c>.</summary>
    private static string Errors(JsonObject? json) =>
        json?["errors"] is JsonArray { Count: > 0 } errors ? ": " + string.Join("; ", errors.Select(e => e?.ToString())) : "";
}
