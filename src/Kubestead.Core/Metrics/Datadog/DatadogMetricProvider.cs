using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Metrics.Datadog;

/// <summary>
/// The <c>datadog</c> provider: per window, one GET of <c>/api/v1/query?from=&amp;to=&amp;query=</c> carrying four
/// queries (requests and failures of the canary, then of its control) joined by commas; Datadog tags each series with
/// the <c>query_index</c> it answers. A window's count is the sum of the points stamped inside it (with
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
        var (canary, control) = PrometheusMetricProvider.Workloads(spec);
        // In the order of the combined query: each version's requests, then its failures.
        var queries = new[] { canary, control }
            .SelectMany(w => new[] { dd.RequestsQuery, dd.FailuresQuery }.Select(q => DatadogSpecBlock.Render(q, VersionWindows.Variables(spec.Namespace, w))))
            .ToArray();
        return async (start, end, ct) =>
        {
            var sums = await SumAsync(connection, dd, queries, start, end, ct).ConfigureAwait(false);
            return new MetricWindow(start, end, Sample(sums[0], sums[1]), Sample(sums[2], sums[3]));
        };
    }

    private static VersionSample Sample(double requests, double failures)
    {
        var r = (long)Math.Round(requests);
        return new VersionSample(r, Math.Min((long)Math.Round(failures), r));
    }

    /// <summary>One request for all <paramref name="queries"/>; the sum of each one's points inside the window.</summary>
    private static async Task<double[]> SumAsync(MetricsHttpConnection connection, DatadogProviderSpec dd, string[] queries,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var url = new Uri(dd.Address, $"api/v1/query?from={start.ToUnixTimeSeconds()}&to={end.ToUnixTimeSeconds()}&query={Uri.EscapeDataString(string.Join(",", queries))}");
        var answer = await connection.GetAsync(url, dd.Timeout, ct).ConfigureAwait(false);
        JsonObject? json = null;
        // Another shape (an array, a string) is read as no answer rather than thrown on by the indexers below.
        try { json = JsonNode.Parse(answer.Body) as JsonObject; } catch (System.Text.Json.JsonException) { }
        var field = $"{dd.Field}.requestsQuery, {dd.Field}.failuresQuery";
        if (!answer.IsSuccess)
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{Errors(json)}");
        if (json is null)
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} with a body that is not JSON");
        if (json["status"] is JsonValue s && s.TryGetValue<string>(out var status) && status != "ok")
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered status '{status}'{(json["error"] is JsonValue e ? ": " + e : "")}");
        // A query that is itself a list takes several indexes: owner[i] is which of ours series index i answers.
        var owner = queries.SelectMany((q, i) => Enumerable.Repeat(i, DatadogQueryList.Count(q))).ToArray();
        var (from, to) = (start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds());
        var sums = new double[queries.Length];
        foreach (var series in json["series"] as JsonArray ?? [])
        {
            if (series is not JsonObject one) continue;
            if (one["query_index"] is not JsonValue qi || !qi.TryGetValue<int>(out var index) || index < 0 || index >= owner.Length)
                throw new MetricsUnavailableException($"{connection.Server} ({field}) answered a series without a query_index between 0 and {owner.Length - 1}: it cannot be told which version it counts");
            foreach (var point in one["pointlist"] as JsonArray ?? [])
                if (point is JsonArray { Count: >= 2 } pair && pair[0] is JsonValue t && t.TryGetValue<double>(out var ms) && ms >= from && ms < to
                    && pair[1] is JsonValue v && v.TryGetValue<double>(out var value) && double.IsFinite(value))
                    sums[owner[index]] += value;
        }
        return sums;
    }

    /// <summary>Datadog's error body: <c>{"errors": ["..."]}</c>.</summary>
    private static string Errors(JsonObject? json) =>
        json?["errors"] is JsonArray { Count: > 0 } errors ? ": " + string.Join("; ", errors.Select(e => e?.ToString())) : "";
}
