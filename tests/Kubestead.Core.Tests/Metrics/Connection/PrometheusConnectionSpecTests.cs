using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>The connection fields of <c>provider.prometheus</c>: what they read into, and what is refused (naming the field, never quoting a credential).</summary>
public class PrometheusConnectionSpecTests
{
    private const string Field = "spec.analysis.metrics[0].provider.prometheus";

    /// <summary>The istio example with <paramref name="extra"/> (YAML at the prometheus block's indentation) added, and the address replaced.</summary>
    public static string Spec(string extra, string address = "https://prometheus.example:9090") =>
        File.ReadAllText(Path.Combine(RepoPaths.Examples, "istio.yaml"))
            .Replace("            address: http://prometheus.istio-system:9090\n", $"            address: {address}\n")
            .Replace("            builtin: istio\n", "            builtin: istio\n" + string.Concat(extra.Split('\n').Where(l => l.Length > 0).Select(l => "            " + l + "\n")));

    private static PrometheusProviderSpec Read(string extra, string address = "https://prometheus.example:9090")
    {
        var result = RolloutSpecParser.Parse(Spec(extra, address));
        Assert.True(result.IsValid, string.Join("; ", result.Problems.Select(p => $"{p.Field}: {p.Message}")));
        return Assert.IsType<PrometheusProviderSpec>(result.Spec!.Analysis!.Metrics[0].Provider);
    }

    private static IReadOnlyList<SpecProblem> Problems(string extra, string address = "https://prometheus.example:9090") =>
        RolloutSpecParser.Parse(Spec(extra, address)).Problems;

    [Fact]
    public void Basic_auth_reads_a_user_name_and_a_password_from_a_secret()
    {
        var p = Read("basicAuth:\n  username: kubestead\n  password:\n    secret: {name: prom-auth, key: password}\nheaders:\n  X-Scope-OrgID: tenant-a\n");
        Assert.Equal(new BasicAuthSpec($"{Field}.basicAuth", new SecretSource($"{Field}.basicAuth.username", Literal: "kubestead"),
            new SecretSource($"{Field}.basicAuth.password", Secret: new SecretKeyRef("prom-auth", "password"))), p.Connection!.BasicAuth);
        Assert.Equal([new KeyValuePair<string, string>("X-Scope-OrgID", "tenant-a")], p.Connection.Headers!);
        Assert.Equal($"{Field}.basicAuth", p.Connection.AuthField);
    }

    [Fact]
    public void Tls_oauth2_and_the_older_bearer_token_file_read_into_the_connection()
    {
        var p = Read("tls: {caFile: /etc/ca.pem, certFile: /etc/c.pem, keyFile: /etc/c.key, serverName: prom.internal}\n" +
                     "oauth2:\n  tokenUrl: https://idp.example/token\n  clientId: kubestead\n  clientSecret: {file: /var/run/secret}\n  scopes: [metrics.read, openid]\n");
        Assert.Equal(new TlsSpec($"{Field}.tls", "/etc/ca.pem", "/etc/c.pem", "/etc/c.key", "prom.internal", false), p.Connection!.Tls);
        Assert.Equal("metrics.read openid", p.Connection.OAuth2!.Scopes);
        Assert.Equal("/var/run/secret", p.Connection.OAuth2.ClientSecret.File);
        var old = Read("bearerTokenFile: /var/run/token\n");
        Assert.Equal("/var/run/token", old.BearerTokenFile);
        Assert.Equal(new SecretSource($"{Field}.bearerTokenFile", File: "/var/run/token"), old.Connection!.BearerToken);
        Assert.Null(Read("").Connection);
    }

    [Fact]
    public void A_password_written_in_the_spec_is_refused_without_repeating_it()
    {
        var problems = Problems("basicAuth:\n  username: kubestead\n  password: hunter2-s3cret\n");
        var problem = Assert.Single(problems);
        Assert.Equal($"{Field}.basicAuth.password", problem.Field);
        Assert.Contains("must not be written in the spec", problem.Message);
        Assert.DoesNotContain("hunter2-s3cret", problem.ToString());
        var bearer = Assert.Single(Problems("bearerToken: eyJhbGciOi-token\n"));
        Assert.Equal($"{Field}.bearerToken", bearer.Field);
        Assert.DoesNotContain("eyJhbGciOi-token", bearer.ToString());
    }

    [Theory]
    [InlineData("basicAuth: {username: a, password: {file: /p}}\nbearerToken: {file: /t}\n", "bearerToken", "one kind of authentication")]
    [InlineData("headers:\n  Authorization: Bearer abc\n", "headers.Authorization", "use basicAuth, bearerToken or oauth2")]
    [InlineData("headers:\n  \"X Bad\": v\n", "headers.X Bad", "not an HTTP header name")]
    [InlineData("tls: {certFile: /c.pem}\n", "tls.keyFile", "both certFile and keyFile")]
    [InlineData("tls: {insecureSkipVerify: true, caFile: /ca.pem}\n", "tls.insecureSkipVerify", "would be ignored")]
    [InlineData("basicAuth: {username: a, password: {secret: {name: Bad_Name, key: p}}}\n", "basicAuth.password.secret.name", "not a valid Kubernetes name")]
    [InlineData("basicAuth: {username: a, password: {file: /p, secret: {name: s, key: p}}}\n", "basicAuth.password", "exactly one of file or secret")]
    [InlineData("oauth2: {tokenUrl: ftp://idp, clientId: a, clientSecret: {file: /s}}\n", "oauth2.tokenUrl", "not an http(s) URL")]
    [InlineData("tsl: {}\n", "tsl", "did you mean 'tls'")]
    public void A_bad_connection_field_is_refused_by_its_path(string extra, string field, string message)
    {
        var problems = Problems(extra);
        Assert.Contains(problems, p => p.Field == $"{Field}.{field}" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_on_an_http_address_is_refused()
    {
        var problem = Assert.Single(Problems("tls: {caFile: /ca.pem}\n", "http://prometheus:9090"));
        Assert.Equal($"{Field}.tls", problem.Field);
        Assert.Contains("https", problem.Message);
    }

    [Fact]
    public void Insecure_skip_verify_is_taken_only_when_written_and_then_warned_about()
    {
        Assert.False(Read("tls: {caFile: /ca.pem}\n").Connection!.Tls!.InsecureSkipVerify);
        var spec = RolloutSpecParser.Parse(Spec("tls: {insecureSkipVerify: true}\n")).Spec!;
        Assert.Contains(PlanWarnings.For(spec), w => w.StartsWith($"{Field}.tls.insecureSkipVerify:", StringComparison.Ordinal) && w.Contains("not checked"));
        Assert.DoesNotContain(PlanWarnings.For(RolloutSpecParser.Parse(Spec("tls: {caFile: /ca.pem}\n")).Spec!), w => w.Contains("insecureSkipVerify"));
    }
}
