using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>
/// A plain-HTTP reverse proxy on 127.0.0.1 in front of the kit's kube-apiserver (HTTPS), for a client that talks to it
/// with the admin token. Working at the HTTP level lets a test answer 429 with Retry-After as a throttling API server
/// does, and cutting the listener and every connection makes the server refuse connections as one that restarts.
/// Requests and responses are whole (Content-Length): enough for the driver, which does not watch.
/// </summary>
public sealed class FaultingApiProxy : IAsyncDisposable
{
    private readonly HttpClient _upstream;
    private readonly Uri _upstreamUrl;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = new();
    private readonly object _gate = new();
    private TcpListener? _listener;
    private volatile int _throttleSeconds;

    public FaultingApiProxy(Uri upstream, string caFile)
    {
        _upstreamUrl = upstream;
        var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(caFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (errors == System.Net.Security.SslPolicyErrors.None) return true;
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return cert is not null && chain.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(cert));
        };
        _upstream = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(2) };
        Listen(0);
    }

    public int Port { get; private set; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    /// <summary>Requests answered so far with 429.</summary>
    public int Throttled;

    /// <summary>From now on every request gets 429 Too Many Requests with this Retry-After; 0 forwards again.</summary>
    public void Throttle(int retryAfterSeconds) => _throttleSeconds = retryAfterSeconds;

    /// <summary>Closes the port and every open connection: new connections are refused, as by a restarting server.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var c in _open) c.Dispose();
            _open.Clear();
        }
    }

    /// <summary>Listens on the same port again.</summary>
    public void Restore() => Listen(Port);

    private void Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        lock (_gate) _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _ = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(_stop.Token);
                lock (_gate) _open.Add(client);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            while (await ReadRequestAsync(stream) is { } request)
            {
                byte[] answer;
                if (_throttleSeconds > 0)
                {
                    Interlocked.Increment(ref Throttled);
                    answer = Response(429, "Too Many Requests", [("Retry-After", _throttleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        ("Content-Type", "application/json")],
                        Encoding.UTF8.GetBytes("""{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too many requests, please try again later","reason":"TooManyRequests","code":429}"""));
                }
                else answer = await ForwardAsync(request);
                await stream.WriteAsync(answer, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or HttpRequestException)
        {
        }
        finally
        {
            lock (_gate) _open.Remove(client);
            client.Dispose();
        }
    }

    private sealed record Request(string Method, string Target, List<(string Name, string Value)> Headers, byte[] Body);

    private async Task<Request?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0) return null;
            head.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(kv => (kv[0].Trim(), kv[1].Trim())).ToList();
        var length = headers.Where(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => int.Parse(h.Item2, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, _stop.Token);
        return new Request(first[0], first[1], headers, body);
    }

    private async Task<byte[]> ForwardAsync(Request request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_upstreamUrl, request.Target));
        if (request.Body.Length > 0 || request.Method is "POST" or "PUT" or "PATCH") message.Content = new ByteArrayContent(request.Body);
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, value)) message.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await _upstream.SendAsync(message, _stop.Token);
        var body = await response.Content.ReadAsByteArrayAsync(_stop.Token);
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => !h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                        && !h.Key.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            .SelectMany(h => h.Value.Select(v => (h.Key, v))).ToList();
        return Response((int)response.StatusCode, response.ReasonPhrase ?? "", headers, body);
    }

    private static byte[] Response(int code, string reason, List<(string Name, string Value)> headers, byte[] body)
    {
        var sb = new StringBuilder($"HTTP/1.1 {code} {reason}\r\n");
        foreach (var (name, value) in headers) sb.Append(name).Append(": ").Append(value).Append("\r\n");
        sb.Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(sb.ToString()), .. body];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Cut();
        _upstream.Dispose();
        _stop.Dispose();
    }
}
