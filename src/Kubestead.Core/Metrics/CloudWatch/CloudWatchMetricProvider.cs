using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Metrics.CloudWatch;

/// <summary>
/// The <c>cloudWatch</c> provider: per window, one signed GetMetricData POST asking the requests and failures metric
/// of both versions; a version's count is the sum of the values stamped inside the window (each value is the
/// statistic of one period that begins at its timestamp, so a period that began before the window is left out, as
/// Datadog's points are). No datapoints is zero: a load balancer publishes nothing for a target group that served
/// nothing, which the judges read as insufficient data.
/// </summary>
/// <param name="environment">Where AWS_* variables are read; null: the process environment.</param>
public sealed class CloudWatchMetricProvider(HttpClient http, TlsHttpClients tlsClients, IKubernetesApi? api = null, TimeProvider? clock = null,
    Func<string, string?>? environment = null) : IMetricProvider
{
    /// <summary>Pages of one window's answer read at most (a window of four series fits one page; more means a loop).</summary>
    private const int MaxPages = 10;

    public string Kind => CloudWatchSpecBlock.BlockKey;

    public MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric)
    {
        var cw = (CloudWatchProviderSpec)metric.Provider;
        var connection = new MetricsHttpConnection(http, tlsClients, cw.Connection, new SecretValueReader(api, spec.Namespace, clock),
            $"CloudWatch at {UrlRedaction.Redact(cw.Address)}", $"{cw.Field}.region", clock, environment);
        var (canaryWorkload, controlWorkload) = PrometheusMetricProvider.Workloads(spec);
        var (canary, control) = (cw.Canary ?? canaryWorkload, cw.Control ?? controlWorkload);
        return (start, end, ct) => WindowAsync(connection, cw, canary, control, start, end, ct);
    }

    private static async Task<MetricWindow> WindowAsync(MetricsHttpConnection connection, CloudWatchProviderSpec cw, string canary, string control,
        DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        string? next = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var form = GetMetricDataForm.Build(cw, canary, control, start, end, next);
            var answer = await connection.SendAsync(HttpMethod.Post, cw.Address, () => new FormUrlEncodedContent(form), cw.Timeout, ct).ConfigureAwait(false);
            var data = Read(connection, cw, answer);
            foreach (var (id, status, points, messages) in data.Results)
            {
                // PartialData means "more on the next page"; anything else but Complete means these numbers are not the window's.
                if (status is not ("Complete" or "PartialData"))
                    throw new MetricsUnavailableException(
                        $"{connection.Server} ({cw.Field}.{(id.EndsWith("_failures", StringComparison.Ordinal) ? "failuresMetric" : "requestsMetric")}) answered StatusCode {status} for '{id}'{(messages.Length > 0 ? ": " + messages : "")}");
                foreach (var (at, value) in points)
                    if (at >= start && at < end && double.IsFinite(value))
                        sums[id] = sums.GetValueOrDefault(id) + value;
            }
            next = data.NextToken;
            if (next is null) return new MetricWindow(start, end, Sample(sums, canary: true), Sample(sums, canary: false));
        }
        throw new MetricsUnavailableException($"{connection.Server} ({cw.Field}) answered more than {MaxPages} pages for one window");
    }

    private static VersionSample Sample(Dictionary<string, double> sums, bool canary)
    {
        var requests = (long)Math.Round(sums.GetValueOrDefault(GetMetricDataForm.Id(canary, failures: false)));
        return new VersionSample(requests, Math.Min((long)Math.Round(sums.GetValueOrDefault(GetMetricDataForm.Id(canary, failures: true))), requests));
    }

    private static GetMetricDataAnswer Read(MetricsHttpConnection connection, CloudWatchProviderSpec cw, MetricsHttpAnswer answer)
    {
        if (!answer.IsSuccess)
        {
            // The query protocol answers throttling with HTTP 400 and the code Throttling; a gateway in front may say 429.
            var error = GetMetricDataAnswer.Error(answer.Body);
            var throttled = answer.Status == 429 || error?.Code is "Throttling" or "ThrottlingException" or "RequestLimitExceeded";
            throw new MetricsUnavailableException(
                $"{connection.Server} ({cw.Field}) answered HTTP {answer.Status} {answer.Reason}{answer.RetryNote}{(throttled ? " (throttled)" : "")}" +
                (error is { } e ? $": {e.Code}: {e.Message}" : MetricsHttpConnection.Detail(answer.Body)));
        }
        return GetMetricDataAnswer.Parse(answer.Body)
            ?? throw new MetricsUnavailableException($"{connection.Server} ({cw.Field}) answered HTTP {answer.Status} with a body that is not a GetMetricData answer");
    }
}
