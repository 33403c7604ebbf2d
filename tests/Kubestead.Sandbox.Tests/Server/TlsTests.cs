using System.Security.Cryptography.X509Certificates;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>TLS is verified against the kubeconfig's CA (and server name) unless insecure-skip-tls-verify says otherwise.</summary>
public class TlsTests : IAsyncLifetime
{
    private SandboxApiServer _server = null!;
    private readonly string _kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-tls-{Guid.NewGuid():N}.yaml");

    public async Task InitializeAsync()
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Namespace, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "web" } });
        _server = await SandboxApiServer.StartAsync(cluster, tls: true);
        _server.WriteKubeconfig(_kubeconfig, "web");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private static async Task<string> GetNamespaceAsync(ClusterConnection c)
    {
        await using var client = new KubernetesClientAdapter(c, retry: new RetryPolicy(1));
        return (await client.GetAsync(ResourceType.Namespace, null, "web"))["metadata"]!["name"]!.GetValue<string>();
    }

    private static X509Certificate2Collection Roots(string pem)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(pem);
        return roots;
    }

    [Fact]
    public async Task The_kubeconfigs_ca_is_trusted_and_used()
    {
        var c = KubeConfigResolver.Resolve(_kubeconfig);
        Assert.StartsWith("https://127.0.0.1:", c.Server.ToString());
        Assert.NotNull(c.Configuration.SslCaCerts);
        Assert.Equal("web", await GetNamespaceAsync(c));
    }

    [Fact]
    public async Task A_server_certificate_from_an_unknown_ca_is_refused()
    {
        var c = KubeConfigResolver.Resolve(_kubeconfig);
        c.Configuration.SslCaCerts = Roots(SandboxCertificates.Create().CaPem);
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => GetNamespaceAsync(c));
        Assert.Equal(0, e.StatusCode);
        Assert.Contains("cannot reach the API server", e.Message);
        var noCa = KubeConfigResolver.Resolve(_kubeconfig);
        noCa.Configuration.SslCaCerts = null;
        await Assert.ThrowsAsync<KubernetesApiException>(() => GetNamespaceAsync(noCa)); // the system store does not know the sandbox CA either
    }

    [Fact]
    public async Task Insecure_skip_tls_verify_is_honoured_only_when_asked()
    {
        var c = KubeConfigResolver.Resolve(_kubeconfig);
        c.Configuration.SslCaCerts = null;
        c.Configuration.SkipTlsVerify = true;
        Assert.Equal("web", await GetNamespaceAsync(c));
    }

    [Fact]
    public async Task Tls_server_name_selects_the_name_the_certificate_is_checked_against()
    {
        var right = KubeConfigResolver.Resolve(_kubeconfig);
        right.Configuration.TlsServerName = "kubernetes.default.svc";
        Assert.Equal("web", await GetNamespaceAsync(right));
        var wrong = KubeConfigResolver.Resolve(_kubeconfig);
        wrong.Configuration.TlsServerName = "api.other.example";
        await Assert.ThrowsAsync<KubernetesApiException>(() => GetNamespaceAsync(wrong));
    }
}
