using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;

namespace Kubestead.Metrics.Web;

/// <summary>
/// The <c>web</c> provider: per window, one GET for the canary and one for its control, each answering that version's
/// requests and failures within the window (not cumulative counters). Nothing at a path (no series in the window) is
/// zero, which the judges read as insufficient data, never as a pass. Web sources have no latency histogram.
/// </summary>
/// <param name="tlsClients">The TLS clients, owned by whoever disposes them (a <see cref="MetricProviderSet"/>); null: this provider's own.</param>
public sealed class WebMetricProvider(HttpClient http, IKubernetesApi? api = null, TimeProvider? clock = null, TlsHttpClients? tlsClients = null) : IMetricProvider
{
    private readonly TlsHttpClients _tlsClients = tlsClients ?? new();

    public string Kind => WebSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        var web = (WebProviderSpec)metric.Provider;
        // Paths and query strings may carry API keys: messages name the server by scheme, host and port only.
        var shown = new Uri(UrlTemplate.Render(web.Url, UrlTemplate.Variables.ToDictionary(v => v, v => v))).GetLeftPart(UriPartial.Authority);
        var connection = new MetricsHttpConnection(http, _tlsClients, web.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"web source at {UrlRedaction.Redact(shown)}", $"{web.Field}.url", clock);
        return VersionWindows.Of(spec, (workload, start, end, ct) => SampleAsync(connection, web, spec.Namespace, workload, start, end, ct));
    }

    private static async Task<VersionSample> SampleAsync(MetricsHttpConnection connection, WebProviderSpec web, string ns, string workload,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var values = VersionWindows.Variables(ns, workload);
        values["start"] = start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        values["end"] = end.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var url = new Uri(UrlTemplate.Render(web.Url, values));
        var answer = await connection.GetAsync(url, web.Timeout, ct).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            throw new MetricsUnavailableException($"{connection.Server} ({web.Field}.url) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{MetricsHttpConnection.Detail(answer.Body)}");
        }
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(answer.Body);
        }
        catch (System.Text.Json.JsonException)
        {
            throw new MetricsUnavailableException($"{connection.Server} answered HTTP {answer.Status} with a body that is not JSON");
        }
        var requests = Count(connection, json, web.RequestsPath, $"{web.Field}.requestsPath");
        var failures = Count(connection, json, web.FailuresPath, $"{web.Field}.failuresPath");
        var r = (long)Math.Round(requests);
        return new VersionSample(r, Math.Min((long)Math.Round(failures), r));
    }

    private static double Count(MetricsHttpConnection connection, JsonNode? json, string path, string field)
    {
        var (value, error) = JsonPathValue.Read(json, path);
        if (error is not null) throw new MetricsUnavailableException($"{connection.Server} ({field}): {path} {error}");
        return value ?? 0;
    }
}
