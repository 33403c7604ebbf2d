using System.Net;
using System.Net.Sockets;

namespace Kubestead.Cli.Tests;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a server that can be told to stall: from then on it forwards nothing, so every
/// request hangs as against a cluster that stopped answering. Lets a test make a clean stop slow on purpose.
/// </summary>
internal sealed class StallingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new();
    private readonly Uri _upstream;
    private readonly Task _accept;
    private volatile bool _stalled;

    public StallingProxy(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public void Stall() => _stalled = true;

    private async Task AcceptAsync()
    {
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_cts.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(_upstream.Host, _upstream.Port, _cts.Token);
                var a = PumpAsync(client.GetStream(), upstream.GetStream());
                var b = PumpAsync(upstream.GetStream(), client.GetStream());
                await Task.WhenAny(a, b);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to)
    {
        var buffer = new byte[16384];
        while (true)
        {
            var n = await from.ReadAsync(buffer, _cts.Token);
            if (n == 0) return;
            if (_stalled) continue; // swallow: the other side waits for an answer that never comes
            await to.WriteAsync(buffer.AsMemory(0, n), _cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
        }
        _cts.Dispose();
    }
}
