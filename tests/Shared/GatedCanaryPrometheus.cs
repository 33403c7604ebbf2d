using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Tests.Shared;

/// <summary>
/// A stand-in Prometheus on 127.0.0.1 for many rollouts at once (the controller's scale test and bench): it answers the
/// custom query pair of <see cref="ControllerTestApp.AnalysisRolloutSpec"/> with one counter per Deployment, stable
/// serving <see cref="RequestsPerSecond"/> from the start and every canary serving nothing until <see cref="Open"/>.
/// So every rollout sits in its analysis step (driven, judged every window, InsufficientData) for as long as the test
/// needs, and passes at the first window after the gate opens. A counter's value is a function of the query's time
/// only (the gate's opening time is fixed once), so a window read again by another replica reads the same counts.
/// </summary>
public sealed partial class GatedCanaryPrometheus : IDisposable
{
    public const double RequestsPerSecond = 40;

    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly DateTimeOffset _origin = DateTimeOffset.UtcNow.AddMinutes(-10);
    private long _openedAtMs = long.MaxValue;
    private long _queries;

    public GatedCanaryPrometheus()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{port}/");
        _ = Task.Run(LoopAsync);
    }

    public Uri Address { get; }

    /// <summary>How many queries (instant and range) were answered.</summary>
    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>From now on every canary serves traffic without failures (stable always does).</summary>
    public void Open() => Interlocked.CompareExchange(ref _openedAtMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), long.MaxValue);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            try
            {
                var (status, body) = Answer(ctx.Request.Url!.AbsolutePath, ctx.Request.QueryString);
                Interlocked.Increment(ref _queries);
                var bytes = Encoding.UTF8.GetBytes(body);
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
                ctx.Response.Close();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                // The client gave up (a replica killed mid-query); the next request is served as usual.
            }
        }
    }

    private (int Status, string Body) Answer(string path, System.Collections.Specialized.NameValueCollection query)
    {
        var promQl = query["query"] ?? "";
        var selector = SelectorPattern().Match(promQl);
        if (!selector.Success) return (400, """{"status":"error","errorType":"bad_data","error":"only the test's counter is served"}""");
        var (ns, deployment, failures) = (selector.Groups["ns"].Value, selector.Groups["deployment"].Value, promQl.Contains("code=\"500\"", StringComparison.Ordinal));
        var labels = new JsonObject { ["__name__"] = ControllerTestApp.TestRequestsMetric, ["namespace"] = ns, ["deployment"] = deployment, ["pod"] = $"{deployment}-5d8f7c-abcde" };
        if (path.EndsWith("/query_range", StringComparison.Ordinal))
        {
            var start = Seconds(query["start"]);
            var end = Seconds(query["end"]);
            var step = double.Parse(query["step"] ?? "1", CultureInfo.InvariantCulture);
            var values = new JsonArray();
            for (var t = start; t <= end + 1e-9; t += step) values.Add(new JsonArray(t, Value(deployment, failures, t)));
            return (200, Envelope("matrix", new JsonObject { ["metric"] = labels, ["values"] = values }));
        }
        var at = query["time"] is { } time ? Seconds(time) : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        return (200, Envelope("vector", new JsonObject { ["metric"] = labels, ["value"] = new JsonArray(at, Value(deployment, failures, at)) }));
    }

    /// <summary>The counter at <paramref name="at"/> (unix seconds): requests since the origin (stable) or since the gate opened (canary); never a failure.</summary>
    private string Value(string deployment, bool failures, double at)
    {
        if (failures) return "0";
        var fromMs = deployment.EndsWith("-canary", StringComparison.Ordinal) ? Interlocked.Read(ref _openedAtMs) : _origin.ToUnixTimeMilliseconds();
        var seconds = Math.Max(0, at - fromMs / 1000.0);
        return Math.Floor(seconds * RequestsPerSecond).ToString(CultureInfo.InvariantCulture);
    }

    private static double Seconds(string? raw) => double.Parse(raw ?? "0", CultureInfo.InvariantCulture);

    private static string Envelope(string type, JsonObject series) =>
        new JsonObject { ["status"] = "success", ["data"] = new JsonObject { ["resultType"] = type, ["result"] = new JsonArray(series) } }.ToJsonString();

    [GeneratedRegex(@"namespace=""(?<ns>[^""]+)"",deployment=""(?<deployment>[^""]+)""")]
    private static partial Regex SelectorPattern();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
