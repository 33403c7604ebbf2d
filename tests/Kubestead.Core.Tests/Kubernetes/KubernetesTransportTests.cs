using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using k8s;
using k8s.Authentication;
using k8s.Autorest;
using Kubestead.Kubernetes;

namespace Kubestead.Core.Tests.Kubernetes;

/// <summary>
/// Kubestead's transport builds its HTTP client from the library's configuration without the library's client class
/// (whose constructor pulls every model serializer into the native binary). The bytes on the wire must not change:
/// each case sends one request through the library's own client and one through the transport to a raw loopback socket
/// and compares the request heads, and error answers must reach the adapter as the same library exception.
/// </summary>
public sealed class KubernetesTransportTests : IDisposable
{
    private readonly string _tokenFile = Path.Combine(Path.GetTempPath(), $"kubestead-transport-{Guid.NewGuid():N}.token");

    public void Dispose() => File.Delete(_tokenFile);

    /// <summary>The library's client, with its protected raw send path (the one Kubestead used) opened for the comparison.</summary>
    private sealed class LibraryClient(KubernetesClientConfiguration config) : k8s.Kubernetes(config)
    {
        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) => SendRequestRaw("", request, ct);
    }

    /// <summary>Accepts one connection, records the request head, answers with <paramref name="answer"/> and closes.</summary>
    private static async Task<(string Head, T Result)> CaptureAsync<T>(string answer, Func<Uri, Task<T>> send)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        var accept = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0) break;
                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer));
            return head.ToString();
        });
        var result = await send(server);
        // Each capture listens on its own port: name it alike so two heads compare.
        return ((await accept.WaitAsync(TimeSpan.FromMinutes(2))).Replace(server.Authority, "SERVER", StringComparison.Ordinal), result);
    }

    private static string Answer(int code, string body) =>
        $"HTTP/1.1 {code} {(code == 200 ? "OK" : "Not Found")}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private static HttpRequestMessage Get(Uri server)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, "api/v1/namespaces/web/configmaps?limit=500"));
        request.Headers.Accept.ParseAdd("application/json");
        return request;
    }

    private async Task<(string Library, string Transport)> HeadsAsync(Func<Uri, KubernetesClientConfiguration> config)
    {
        var (library, _) = await CaptureAsync(Answer(200, "{}"), async server =>
        {
            using var client = new LibraryClient(config(server));
            using var request = Get(server);
            using var response = await client.SendAsync(request, CancellationToken.None);
            return await response.Content.ReadAsStringAsync();
        });
        var (transport, _) = await CaptureAsync(Answer(200, "{}"), async server =>
        {
            using var client = new KubernetesTransport(config(server));
            using var request = Get(server);
            using var response = await client.SendAsync(null, request, CancellationToken.None);
            return await response.Content.ReadAsStringAsync();
        });
        return (library, transport);
    }

    public static TheoryData<string> Credentials => new() { "token", "token-file", "basic", "anonymous", "tls-server-name" };

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task A_request_carries_the_same_head_as_through_the_librarys_client(string credentials)
    {
        File.WriteAllText(_tokenFile, "file-token-7");
        KubernetesClientConfiguration Config(Uri server)
        {
            var c = new KubernetesClientConfiguration { Host = server.ToString(), HttpClientTimeout = Timeout.InfiniteTimeSpan };
            switch (credentials)
            {
                case "token": c.AccessToken = "static-token-3"; break;
                case "token-file": c.TokenProvider = new TokenFileAuth(_tokenFile); break;
                case "basic": c.Username = "ada"; c.Password = "lovelace"; break;
                case "tls-server-name": c.AccessToken = "static-token-3"; c.TlsServerName = "kubernetes.default.svc"; break;
            }
            return c;
        }

        var (library, transport) = await HeadsAsync(Config);

        Assert.StartsWith("GET /api/v1/namespaces/web/configmaps?limit=500 HTTP/1.1\r\n", transport);
        Assert.Equal(library, transport);
        if (credentials == "token-file") Assert.Contains("Authorization: Bearer file-token-7\r\n", transport);
        if (credentials == "tls-server-name") Assert.Contains("Host: kubernetes.default.svc\r\n", transport);
    }

    [Fact]
    public async Task An_error_answer_is_the_librarys_exception_with_the_status_and_body()
    {
        const string status = """{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}""";
        var (_, error) = await CaptureAsync(Answer(404, status), async server =>
        {
            using var client = new KubernetesTransport(new KubernetesClientConfiguration { Host = server.ToString() });
            using var request = Get(server);
            return await Assert.ThrowsAsync<HttpOperationException>(() => client.SendAsync(null, request, CancellationToken.None));
        });

        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
        Assert.Equal(status, error.Response.Content);
    }

    [Fact]
    public void A_missing_or_bad_server_address_is_the_librarys_kubeconfig_error()
    {
        Assert.Throws<k8s.Exceptions.KubeConfigException>(() => new KubernetesTransport(new KubernetesClientConfiguration { Host = "" }));
        Assert.Throws<k8s.Exceptions.KubeConfigException>(() => new KubernetesTransport(new KubernetesClientConfiguration { Host = "https://[::1" }));
    }

    /// <summary>
    /// The library's client reads the configuration's JSON options when it is built; in the Native AOT binary that reference
    /// keeps the serializers of every Kubernetes model (about 10 MB of a native `status`'s peak memory, docs/native.md).
    /// The options are built lazily, so an unset backing field after connecting shows they were never asked for.
    /// </summary>
    [Fact]
    public void Building_the_transport_never_asks_for_the_librarys_json_options()
    {
        var field = typeof(KubernetesClientConfiguration).GetField("jsonSerializerOptions", BindingFlags.Instance | BindingFlags.NonPublic)
                    ?? throw new InvalidOperationException("KubernetesClient changed: review how its JSON options are built");
        var config = new KubernetesClientConfiguration { Host = "https://127.0.0.1:6443", AccessToken = "t" };

        using (new KubernetesTransport(config))
            Assert.Null(field.GetValue(config));

        using (new LibraryClient(config))
            Assert.NotNull(field.GetValue(config)); // the test can see it: the library's constructor does ask
    }
}
