using System.Net;
using System.Net.Sockets;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>A port free on 127.0.0.1 right now, for a child process told to listen there.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
