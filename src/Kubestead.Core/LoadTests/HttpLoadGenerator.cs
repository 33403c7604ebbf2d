using System.Net;

namespace Kubestead.LoadTests;

/// <summary>
/// The load test over HTTP: requests at a steady rate on <paramref name="clock"/>, each with the spec's headers and the
/// marker header set to the rollout's name. Pacing runs on its own clock, not the rollout's: it is about a real network,
/// and a virtual rollout clock (the sandbox's) must see only the engine's timers.
/// </summary>
/// <param name="handler">Replaces the network (tests); null: a handler of this generator's own per run.</param>
public sealed class HttpLoadGenerator(HttpMessageHandler? handler = null, TimeProvider? clock = null) : ILoadGenerator
{
    /// <summary>At most this many requests wait for an answer at once; past it a tick is skipped (a hung target must not pile up sockets).</summary>
    public const int MaxInFlight = 256;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public async Task<LoadTestTally> RunAsync(LoadTestRun run, CancellationToken ct)
    {
        // Never send on the caller's thread: it is the engine's, reporting an event.
        await Task.Yield();
        using var http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null) { Timeout = Timeout.InfiniteTimeSpan };
        var streams = new List<Task<LoadTestTally>> { StreamAsync(http, new LoadTestTarget(run.Spec.Url, run.Spec.Headers), run, ct) };
        if (run.Spec.Control is { } control) streams.Add(StreamAsync(http, control, run, ct));
        var tallies = await Task.WhenAll(streams).ConfigureAwait(false);
        return tallies.Aggregate(LoadTestTally.None, (a, b) => a.Plus(b));
    }

    private async Task<LoadTestTally> StreamAsync(HttpClient http, LoadTestTarget target, LoadTestRun run, CancellationToken ct)
    {
        var uri = new Uri(target.Url);
        var period = TimeSpan.FromSeconds(1 / run.Spec.RequestsPerSecond);
        var inFlight = new List<Task<HttpStatusCode?>>();
        var tally = LoadTestTally.None;
        var start = _clock.GetUtcNow();
        try
        {
            for (long n = 0; !ct.IsCancellationRequested; n++)
            {
                tally = tally.Plus(Collect(inFlight, all: false));
                if (inFlight.Count < MaxInFlight)
                {
                    inFlight.Add(SendAsync(http, uri, target.Headers, run, ct));
                    tally = tally with { Sent = tally.Sent + 1 };
                }
                // Scheduled from the start, so the time each send takes does not slow the rate down.
                var due = start + period * (n + 1) - _clock.GetUtcNow();
                if (due > TimeSpan.Zero) await Task.Delay(due, _clock, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped: the requests still out were cancelled with the same token and end below.
        }
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        return tally.Plus(Collect(inFlight, all: true));
    }

    private static LoadTestTally Collect(List<Task<HttpStatusCode?>> inFlight, bool all)
    {
        var done = all ? inFlight.ToList() : inFlight.Where(t => t.IsCompleted).ToList();
        foreach (var t in done) inFlight.Remove(t);
        var answered = done.Count(t => t.Result is not null);
        var serverErrors = done.Count(t => t.Result is { } code && (int)code >= 500);
        return new LoadTestTally(0, answered, serverErrors, done.Count - answered);
    }

    /// <summary>One request; never throws: no answer (refused, timed out, stopped) is null.</summary>
    private async Task<HttpStatusCode?> SendAsync(HttpClient http, Uri uri, IReadOnlyDictionary<string, string> headers, LoadTestRun run, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(run.Spec.Timeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var request = new HttpRequestMessage(new HttpMethod(run.Spec.Method), uri);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        request.Headers.TryAddWithoutValidation(run.Spec.MarkerHeader, run.Rollout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }
}
