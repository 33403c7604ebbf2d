using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// The real Prometheus behind Debian's nginx, which checks basic auth, client certificates or a tenant header the way
/// a production proxy in front of Prometheus (or Mimir, Cortex, Thanos) does. The built-in Istio queries must come back
/// exact through each; each refusal must name the field at fault and no secret.
/// </summary>
public class AuthenticatedPrometheusTests
{
    private const string Field = "spec.analysis.metrics[0].provider.prometheus";
    private const string Password = "nginx-pw-3c9e7d";

    private static readonly DateTimeOffset Start = PrometheusIntegrationTests.T0.AddMinutes(5);
    private static readonly DateTimeOffset End = PrometheusIntegrationTests.T0.AddMinutes(15);

    /// <summary>
    /// The spec's 10 s default request timeout is the product's; here nginx, Prometheus and fresh TLS handshakes share a
    /// loaded CI machine, and a request cut by the timeout would read as the refusal under test, so it is generous.
    /// </summary>
    private static MetricWindowQuery Open(Uri address, string extra)
    {
        var result = RolloutSpecParser.Parse(PrometheusConnectionSpecTests.Spec("timeout: 5m\n" + extra, address.ToString().TrimEnd('/')));
        Assert.True(result.IsValid, string.Join("; ", result.Problems.Select(p => $"{p.Field}: {p.Message}")));
        var spec = result.Spec!;
        return new PrometheusMetricProvider(new HttpClient()).Open(spec, spec.Analysis!.Metrics[0]);
    }

    private static void AssertExact(MetricWindow window, Func<string, DateTimeOffset, (long Requests, long Failures)> at)
    {
        Assert.Equal(at("shop-canary", End).Requests - at("shop-canary", Start).Requests, window.Canary.Requests);
        Assert.Equal(at("shop-canary", End).Failures - at("shop-canary", Start).Failures, window.Canary.Failures);
        Assert.Equal(at("shop", End).Requests - at("shop", Start).Requests, window.Control.Requests);
        Assert.Equal(at("shop", End).Failures - at("shop", Start).Failures, window.Control.Failures);
    }

    private static async Task<string> FailureAsync(MetricWindowQuery query) =>
        (await Assert.ThrowsAsync<MetricsUnavailableException>(() => query(Start, End, CancellationToken.None))).ToString();

    [NginxFact]
    public async Task Basic_auth_through_nginx_counts_exactly_and_a_wrong_password_names_the_field()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        using var dir = new TempDir();
        // nginx's auth_basic_user_file takes a {PLAIN} password.
        File.WriteAllText(dir.PathOf("htpasswd"), $"kubestead:{{PLAIN}}{Password}\n");
        File.WriteAllText(dir.PathOf("password"), Password + "\n");
        File.WriteAllText(dir.PathOf("wrong"), "not-" + Password + "\n");
        await using var nginx = await NginxProxy.StartAsync(prom.Address, tls: false,
            $"auth_basic \"prometheus\"; auth_basic_user_file {dir.PathOf("htpasswd")};");

        AssertExact(await Open(nginx.Address, $"basicAuth: {{username: kubestead, password: {{file: {dir.PathOf("password")}}}}}\n")(Start, End, CancellationToken.None), at);

        var printed = await FailureAsync(Open(nginx.Address, $"basicAuth: {{username: kubestead, password: {{file: {dir.PathOf("wrong")}}}}}\n"));
        Assert.Contains($"Prometheus at {nginx.Address} ({Field}.basicAuth) answered HTTP 401 Unauthorized: the credentials were refused", printed);
        var anonymous = await FailureAsync(Open(nginx.Address, ""));
        Assert.Contains($"({Field}.address) answered HTTP 401 Unauthorized", anonymous);
        foreach (var output in new[] { printed, anonymous, nginx.Log })
            Assert.DoesNotContain(Password, output);
    }

    [NginxFact]
    public async Task Mutual_tls_through_nginx_checks_both_certificates_and_names_the_tls_field_at_fault()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        using var certs = new TestCertificates();
        await using var nginx = await NginxProxy.StartAsync(prom.Address, tls: true,
            $"ssl_certificate {certs.PathOf("server.pem")}; ssl_certificate_key {certs.PathOf("server.key")}; " +
            $"ssl_client_certificate {certs.PathOf("ca.pem")}; ssl_verify_client on;");
        var client = $"certFile: {certs.PathOf("client.pem")}, keyFile: {certs.PathOf("client.key")}";

        AssertExact(await Open(nginx.Address, $"tls: {{caFile: {certs.PathOf("ca.pem")}, {client}, serverName: prometheus.test}}\n")(Start, End, CancellationToken.None), at);
        AssertExact(await Open(nginx.Address, $"tls: {{insecureSkipVerify: true, {client}}}\n")(Start, End, CancellationToken.None), at);

        var noClientCert = await FailureAsync(Open(nginx.Address, $"tls: {{caFile: {certs.PathOf("ca.pem")}}}\n"));
        Assert.Contains("answered HTTP 400 Bad Request with a body that is not JSON: 400 No required SSL certificate was sent", noClientCert);
        var wrongCa = await FailureAsync(Open(nginx.Address, $"tls: {{caFile: {certs.PathOf("other-ca.pem")}, {client}}}\n"));
        Assert.Contains($"({Field}.tls.caFile: the server's certificate does not chain to the CA in {certs.PathOf("other-ca.pem")})", wrongCa);
        var untrusted = await FailureAsync(Open(nginx.Address, $"tls: {{{client}}}\n"));
        Assert.Contains($"({Field}.tls.caFile: the server's certificate is not trusted by this machine", untrusted);
        var wrongName = await FailureAsync(Open(nginx.Address, $"tls: {{caFile: {certs.PathOf("ca.pem")}, {client}, serverName: other.test}}\n"));
        Assert.Contains($"({Field}.tls.serverName: the server's certificate is not for 'other.test')", wrongName);
        var missingKey = await FailureAsync(Open(nginx.Address, $"tls: {{certFile: {certs.PathOf("client.pem")}, keyFile: {certs.PathOf("nope.key")}}}\n"));
        Assert.Contains($"{Field}.tls.certFile: cannot load the client certificate", missingKey);
        foreach (var output in new[] { noClientCert, wrongCa, untrusted, wrongName, missingKey })
            Assert.DoesNotContain("PRIVATE KEY", output);
    }

    [NginxFact]
    public async Task A_tenant_header_checked_by_nginx_is_sent()
    {
        var (text, at) = PrometheusIntegrationTests.Generate(linkerd: false);
        await using var prom = await PrometheusServer.StartAsync(text);
        // Mimir and Cortex answer 401 without X-Scope-OrgID; nginx plays that gateway here.
        await using var nginx = await NginxProxy.StartAsync(prom.Address, tls: false, "",
            "if ($http_x_scope_orgid != \"tenant-a\") { return 401; }");
        AssertExact(await Open(nginx.Address, "headers:\n  X-Scope-OrgID: tenant-a\n")(Start, End, CancellationToken.None), at);
        var wrongTenant = await FailureAsync(Open(nginx.Address, "headers:\n  X-Scope-OrgID: tenant-b\n"));
        Assert.Contains($"({Field}.headers) answered HTTP 401 Unauthorized: the headers were refused", wrongTenant);
        var noTenant = await FailureAsync(Open(nginx.Address, ""));
        Assert.Contains($"({Field}.address) answered HTTP 401 Unauthorized: it asks for credentials", noTenant);
    }

    private sealed class TempDir : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("kubestead-auth-").FullName;

        public string PathOf(string file) => Path.Combine(_path, file);

        public void Dispose() => Directory.Delete(_path, true);
    }
}
