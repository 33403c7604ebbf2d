using System.Net;
using System.Text;
using System.Web;
using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>
/// Hands Prometheus HTTP API requests straight to a <see cref="SimulatedPrometheus"/> in this process (no socket), and
/// counts them, so engine tests on the virtual clock read through Kubestead's real Prometheus client and source.
/// </summary>
public sealed class InProcessPrometheus(SimulatedPrometheus prometheus) : HttpMessageHandler
{
    /// <summary>An address that is never dialled: the handler answers every request.</summary>
    public static readonly Uri Address = new("http://127.0.0.1:9/");

    private readonly List<string> _queries = new();

    /// <summary>Marks a range query (<c>/api/v1/query_range</c>) in <see cref="Queries"/>.</summary>
    public const string RangePrefix = "range: ";

    /// <summary>The PromQL of every request so far, in order (range queries prefixed with <see cref="RangePrefix"/>).</summary>
    public IReadOnlyList<string> Queries
    {
        get
        {
            lock (_queries) return _queries.ToList();
        }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var parameters = HttpUtility.ParseQueryString(request.RequestUri!.Query);
        var query = parameters["query"];
        var range = request.RequestUri.AbsolutePath.EndsWith("/query_range", StringComparison.Ordinal);
        lock (_queries) _queries.Add((range ? RangePrefix : "") + (query ?? ""));
        var (status, body) = range
            ? prometheus.QueryRange(query, parameters["start"], parameters["end"], parameters["step"])
            : prometheus.Query(query, parameters["time"]);
        return Task.FromResult(new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
