using System.Net;
using System.Net.Sockets;
using System.Text;
using Kubestead.Controller;
using Kubestead.Rollouts;
using Prometheus;

namespace Kubestead.Cli;

/// <summary>
/// The replica's HTTP endpoint: <c>/metrics</c> (Prometheus text exposition from the replica's registry), <c>/healthz</c>
/// (the process answers: liveness must not depend on the API server, or an outage would restart every replica) and <c>/readyz</c> (<see cref="RolloutController.Readiness"/>).
/// A few lines over a TcpListener rather than HttpListener or Kestrel: HttpListener cannot bind port 0 (tests run several
/// replicas side by side) and Kestrel would make the dotnet tool need the ASP.NET Core runtime. Each answer closes its
/// connection; scrapers and kubelet probes send one GET per connection anyway.
/// </summary>
public sealed class ControllerEndpoint : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private readonly TcpListener _listener;
    private readonly CollectorRegistry _registry;
    private readonly Func<ControllerReadiness> _readiness;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private ControllerEndpoint(TcpListener listener, CollectorRegistry registry, Func<ControllerReadiness> readiness)
    {
        _listener = listener;
        _registry = registry;
        _readiness = readiness;
        _serving = Task.Run(() => AcceptAsync(_stop.Token));
    }

    /// <summary>Where it listens (with the port the system chose when asked for port 0).</summary>
    public IPEndPoint Bound => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Binds now, so a taken port fails the replica's start with a clear error instead of a silent missing endpoint.</summary>
    public static ControllerEndpoint Start(IPEndPoint address, CollectorRegistry registry, Func<ControllerReadiness> readiness)
    {
        var listener = new TcpListener(address);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new KubesteadException("ListenAddressUnavailable", KubesteadErrorKind.InvalidInput,
                $"--listen-address {address}: cannot listen there ({e.SocketErrorCode}: {e.Message})");
        }
        return new ControllerEndpoint(listener, registry, readiness);
    }

    /// <summary>Parses <c>host:port</c> (an IP literal, <c>[::]:port</c> for IPv6, or <c>localhost</c>), naming the option when it is not one.</summary>
    public static IPEndPoint ParseAddress(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':', StringComparison.Ordinal)) host = "";
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) host = "127.0.0.1";
        if (IPAddress.TryParse(host, out var ip) && int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port <= IPEndPoint.MaxPort)
            return new IPEndPoint(ip, port);
        throw new KubesteadException("InvalidListenAddress", KubesteadErrorKind.InvalidInput,
            $"--listen-address '{text}' is not host:port (for example 127.0.0.1:8080, 0.0.0.0:8080 in a pod, or 127.0.0.1:0 for any free port)");
    }

    private async Task AcceptAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (ct.IsCancellationRequested) return;
                continue;
            }
            _ = Task.Run(() => AnswerAsync(client, ct), CancellationToken.None);
        }
    }

    private async Task AnswerAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            // A client that connects and says nothing must not hold a task for ever.
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                var stream = client.GetStream();
                var (method, path) = await ReadRequestLineAsync(stream, timeout.Token).ConfigureAwait(false);
                var (status, contentType, body) = await RespondAsync(method, path, timeout.Token).ConfigureAwait(false);
                var head = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(head, timeout.Token).ConfigureAwait(false);
                if (method != "HEAD") await stream.WriteAsync(body, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
            {
                // A client gone, slow or speaking something else: nothing to answer.
            }
        }
    }

    private static async Task<(string Method, string Path)> ReadRequestLineAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxRequestBytes];
        var read = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0) throw new InvalidDataException("connection closed before the request ended");
            read += n;
            // The headers are not needed; the request is complete once they end (a GET has no body).
            if (buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) >= 0) break;
            if (read == buffer.Length) throw new InvalidDataException("request headers too long");
        }
        var line = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, read).IndexOf("\r\n"u8));
        var parts = line.Split(' ');
        if (parts.Length != 3) throw new InvalidDataException("not an HTTP request line");
        var path = parts[1].Split('?', 2)[0];
        return (parts[0], path);
    }

    private async Task<(string Status, string ContentType, byte[] Body)> RespondAsync(string method, string path, CancellationToken ct)
    {
        const string text = "text/plain; charset=utf-8";
        if (method is not ("GET" or "HEAD")) return ("405 Method Not Allowed", text, "only GET and HEAD\n"u8.ToArray());
        switch (path)
        {
            case "/metrics":
                using (var body = new MemoryStream())
                {
                    await _registry.CollectAndExportAsTextAsync(body, ct).ConfigureAwait(false);
                    return ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body.ToArray());
                }
            case "/healthz":
                return ("200 OK", text, "ok\n"u8.ToArray());
            case "/readyz":
                var readiness = _readiness();
                return (readiness.IsReady ? "200 OK" : "503 Service Unavailable", text, Encoding.UTF8.GetBytes((readiness.IsReady ? "ok: " : "not ready: ") + readiness.Detail + "\n"));
            default:
                return ("404 Not Found", text, "/metrics, /healthz and /readyz are served here\n"u8.ToArray());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _serving.ConfigureAwait(false);
        _stop.Dispose();
    }
}
