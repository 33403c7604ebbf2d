using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Metrics.Connection;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// Instant queries over Prometheus's HTTP API (<c>/api/v1/query</c>), which Prometheus-compatible stores (Thanos, Mimir,
/// Cortex, VictoriaMetrics) answer too. Credentials, TLS and headers come from the <see cref="MetricsHttpConnection"/>;
/// failures name the server, the spec field and the HTTP status, never a credential.
/// </summary>
public sealed class PrometheusClient
{
    private readonly MetricsHttpConnection _connection;
    private readonly Uri _address;
    private readonly TimeSpan _timeout;

    public PrometheusClient(MetricsHttpConnection connection, Uri address, TimeSpan? timeout = null)
    {
        _connection = connection;
        _address = address;
        _timeout = timeout ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>A plain client (no connection block), with a bearer token read from a file at each request when given.</summary>
    public PrometheusClient(HttpClient http, Uri address, string? bearerTokenFile = null, TimeSpan? timeout = null)
        : this(new MetricsHttpConnection(http, new TlsHttpClients(),
                bearerTokenFile is null ? null : new HttpConnectionSpec("bearerTokenFile", BearerToken: new SecretSource("bearerTokenFile", File: bearerTokenFile)),
                new SecretValueReader(null, ""), $"Prometheus at {UrlRedaction.Redact(address)}", "address"),
            address, timeout)
    {
    }

    /// <summary>Every sample of an instant vector: its labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(
        string promQl, DateTimeOffset at, CancellationToken ct)
    {
        var url = new Uri(_address, "api/v1/query?query=" + Uri.EscapeDataString(promQl)
                                    + "&time=" + (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
        var answer = await _connection.GetAsync(url, _timeout, ct).ConfigureAwait(false);
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(answer.Body);
        }
        catch (System.Text.Json.JsonException)
        {
            throw new MetricsUnavailableException(
                $"{_connection.Server} answered HTTP {answer.Status} {answer.Reason} with a body that is not JSON{MetricsHttpConnection.Detail(answer.Body)}");
        }
        if (json?["status"]?.GetValue<string>() != "success")
        {
            throw new MetricsUnavailableException(
                $"{_connection.Server} answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}: {json?["errorType"]?.GetValue<string>()}: {json?["error"]?.GetValue<string>()}");
        }
        var result = json["data"]?["result"] as JsonArray ?? new JsonArray();
        return result.OfType<JsonObject>().Select(r =>
        {
            var labels = (r["metric"] as JsonObject ?? new JsonObject()).ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "");
            var raw = r["value"]?[1]?.GetValue<string>() ?? "0";
            var value = raw switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN, _ => double.Parse(raw, CultureInfo.InvariantCulture) };
            return ((IReadOnlyDictionary<string, string>)labels, value);
        }).ToList();
    }
}
