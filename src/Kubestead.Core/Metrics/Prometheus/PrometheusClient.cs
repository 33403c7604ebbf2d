using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// Instant queries over Prometheus's HTTP API (<c>/api/v1/query</c>). A bearer token is read from a file at each
/// request (so a rotated token is picked up) and never appears in messages.
/// </summary>
public sealed class PrometheusClient(HttpClient http, Uri address, string? bearerTokenFile = null, TimeSpan? timeout = null)
{
    /// <summary>Every sample of an instant vector: its labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(
        string promQl, DateTimeOffset at, CancellationToken ct)
    {
        var url = new Uri(address, "api/v1/query?query=" + Uri.EscapeDataString(promQl)
                                   + "&time=" + (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (bearerTokenFile is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(bearerTokenFile, ct).ConfigureAwait(false)).Trim());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        HttpResponseMessage response;
        string body;
        try
        {
            response = await http.SendAsync(request, cts.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new MetricsUnavailableException($"Prometheus at {UrlRedaction.Redact(address)} did not answer within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds:0}s");
        }
        catch (HttpRequestException e)
        {
            throw new MetricsUnavailableException($"Prometheus at {UrlRedaction.Redact(address)} cannot be reached: {e.Message}", e);
        }
        using (response)
        {
            JsonNode? json;
            try
            {
                json = JsonNode.Parse(body);
            }
            catch (System.Text.Json.JsonException)
            {
                throw new MetricsUnavailableException($"Prometheus at {UrlRedaction.Redact(address)} answered HTTP {(int)response.StatusCode} with a body that is not JSON");
            }
            if (json?["status"]?.GetValue<string>() != "success")
                throw new MetricsUnavailableException(
                    $"Prometheus at {UrlRedaction.Redact(address)} answered HTTP {(int)response.StatusCode}: {json?["errorType"]?.GetValue<string>()}: {json?["error"]?.GetValue<string>()}");
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
}
