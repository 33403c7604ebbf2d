using System.Diagnostics;

namespace Kubestead.Kubernetes;

/// <summary>
/// Counts every HTTP request the library sends (retries included) and writes one verbose line per request. The line holds
/// the method, the path without its query and the status code: never a header, so never a credential. A metrics host
/// also gets each request as an <see cref="ApiRequestSample"/>.
/// </summary>
internal sealed class RequestObserver(Action<string>? log, Action<ApiRequestSample>? sample = null) : DelegatingHandler
{
    private int _requests;

    public int RequestCount => Volatile.Read(ref _requests);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        Interlocked.Increment(ref _requests);
        var started = Stopwatch.GetTimestamp();
        var path = request.RequestUri?.AbsolutePath ?? "";
        try
        {
            var response = await base.SendAsync(request, ct).ConfigureAwait(false);
            log?.Invoke($"{request.Method} {path} -> {(int)response.StatusCode} ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
            sample?.Invoke(ApiRequestSample.From(request.Method, request.RequestUri, (int)response.StatusCode));
            return response;
        }
        catch (HttpRequestException)
        {
            log?.Invoke($"{request.Method} {path} -> connection failed ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
            sample?.Invoke(ApiRequestSample.From(request.Method, request.RequestUri, null));
            throw;
        }
    }
}
