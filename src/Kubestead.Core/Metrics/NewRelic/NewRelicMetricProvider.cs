using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.NewRelic;

/// <summary>
/// The <c>newRelic</c> provider: per window and version, one NerdGraph POST whose NRQL (a GraphQL variable, so it is
/// never spliced into the GraphQL text) answers <c>requests</c> and <c>failures</c>. NerdGraph reports query errors in
/// an <c>errors</c> array with HTTP 200, so those are read before the results. No result, or a zero count, is
/// insufficient data.
/// </summary>
public sealed class NewRelicMetricProvider(HttpClient http, TlsHttpClients tlsClients, IKubernetesApi? api = null, TimeProvider? clock = null) : IMetricProvider
{
    private const string GraphQl = "query($accountId: Int!, $nrql: Nrql!) { actor { account(id: $accountId) { nrql(query: $nrql) { results } } } }";

    public string Kind => NewRelicSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        var nr = (NewRelicProviderSpec)metric.Provider;
        var connection = new MetricsHttpConnection(http, tlsClients, nr.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"New Relic at {UrlRedaction.Redact(nr.Address)}", $"{nr.Field}.region", clock);
        return VersionWindows.Of(spec, (workload, start, end, ct) => SampleAsync(connection, nr, spec.Namespace, workload, start, end, ct));
    }

    private static async Task<VersionSample> SampleAsync(MetricsHttpConnection connection, NewRelicProviderSpec nr, string ns, string workload,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var nrql = NewRelicSpecBlock.Render(nr.Query, VersionWindows.Variables(ns, workload), start, end);
        var body = new JsonObject { ["query"] = GraphQl, ["variables"] = new JsonObject { ["accountId"] = nr.AccountId, ["nrql"] = nrql } }.ToJsonString();
        var answer = await connection.SendAsync(HttpMethod.Post, nr.Address, () => new StringContent(body, Encoding.UTF8, "application/json"), nr.Timeout, ct)
            .ConfigureAwait(false);
        JsonObject? json = null;
        // Another shape (an array, a string) is read as no answer rather than thrown on by the indexers below.
        try { json = JsonNode.Parse(answer.Body) as JsonObject; } catch (System.Text.Json.JsonException) { }
        // NerdGraph refuses a key with HTTP 200 and an UNAUTHORIZED error class: the key is at fault, not the query.
        var unauthorized = json?["errors"] is JsonArray errs && errs.Any(e => e is JsonObject o && o["extensions"] is JsonObject x && x["errorClass"] is JsonValue c && c.ToString() == "UNAUTHORIZED");
        var field = unauthorized ? $"{nr.Field}.apiKey" : $"{nr.Field}.query";
        if (!answer.IsSuccess || json?["errors"] is JsonArray { Count: > 0 })
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{Errors(json)}");
        JsonNode? node = json;
        foreach (var step in new[] { "data", "actor", "account", "nrql", "results" }) node = (node as JsonObject)?[step];
        if (node is not JsonArray results)
            throw new MetricsUnavailableException($"{connection.Server} ({field}) answered HTTP {answer.Status} without data.actor.account.nrql.results");
        var row = results.Count > 0 ? results[0] as JsonObject : null;
        var requests = Count(row?["requests"]);
        return new VersionSample(requests, Math.Min(Count(row?["failures"]), requests));
    }

    private static long Count(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) && d > 0 ? (long)Math.Round(d) : 0;

    /// <summary>GraphQL's error body: <c>{"errors": [{"message": "..."}]}</c>.</summary>
    private static string Errors(JsonObject? json) =>
        json?["errors"] is JsonArray { Count: > 0 } errors
            ? ": " + string.Join("; ", errors.Select(e => e is JsonObject o && o["message"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : e?.ToString()))
            : "";
}
