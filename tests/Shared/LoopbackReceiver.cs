using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Kubestead.Tests.Shared;

/// <summary>An HTTP receiver on 127.0.0.1 that records what is posted to it and answers with <see cref="Status"/> (or never).</summary>
public sealed class LoopbackReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();

    public sealed record Received(string Path, IReadOnlyDictionary<string, string?> Headers, byte[] Body)
    {
        public JsonObject Json => JsonNode.Parse(Body)!.AsObject();
    }

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>The status each request gets when it arrives (a test may change it between calls); null: never answered (a hung endpoint).</summary>
    public HttpStatusCode? Status { get; set; } = HttpStatusCode.OK;

    public Uri Url { get; }

    /// <summary>When set, what each request gets instead of <see cref="Status"/>: a status, a content type and a body.</summary>
    public Func<Received, (int Status, string ContentType, string Body)>? Answer { get; set; }

    public LoopbackReceiver(string path = "/hook")
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{port}{path}");
        _ = Task.Run(LoopAsync);
    }

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
            using var body = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(body).ConfigureAwait(false);
            var headers = ctx.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => ctx.Request.Headers[k], StringComparer.OrdinalIgnoreCase);
            var received = new Received(ctx.Request.Url!.AbsolutePath, headers, body.ToArray());
            Requests.Enqueue(received);
            if (Answer is { } answer)
            {
                var (code, type, text) = answer(received);
                ctx.Response.StatusCode = code;
                ctx.Response.ContentType = type;
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                await ctx.Response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
                ctx.Response.Close();
                continue;
            }
            if (Status is not { } status) continue; // never answered
            ctx.Response.StatusCode = (int)status;
            ctx.Response.Close();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
