using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Metrics.Aws;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Kubestead.Core.Tests.Metrics.Aws;

/// <summary>
/// Prometheus with <c>sigv4:</c> (Amazon Managed Prometheus) against a local server that checks each request's
/// signature as AWS does: the key pair from a Secret, from the AWS_* variables or from the shared credentials file;
/// a refused signature names the sigv4 field and never the secret.
/// </summary>
public class AmazonManagedPrometheusTests
{
    private const string Field = "spec.analysis.metrics[0].provider.prometheus";
    private const string KeyId = "AKIAKUBESTEADTEST01";
    private const string Secret = "amp-secret-7f3e9a21c5d04b6e";
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    /// <summary>Answers instant queries as AMP does when signed with <paramref name="secret"/>; 403 with AWS's JSON message otherwise.</summary>
    private static Func<HttpContext, Task> Workspace(string secret = Secret, string? sessionToken = null) => async ctx =>
    {
        if (await SigV4Verifier.CheckAsync(ctx, KeyId, secret, "us-west-2", "aps", sessionToken) is { } why)
        {
            ctx.Response.StatusCode = 403;
            await ctx.Response.WriteAsync($"{{\"message\":\"The request signature we calculated does not match the signature you provided ({why})\"}}");
            return;
        }
        var time = double.Parse(ctx.Request.Query["time"]!, CultureInfo.InvariantCulture);
        await ctx.Response.WriteAsync(LoopbackHttpServer.Vector(("shop-abc12-x1y2z", Math.Floor(time / 10))));
    };

    private static string Block(string credentials) => "sigv4:\n  region: us-west-2\n" + credentials;

    private static EmulatedCluster Cluster(string secret = Secret) => ProviderSpecs.ClusterWithSecret("aws", ("id", KeyId), ("secret", secret));

    private static MetricWindowQuery Open(Uri server, string block, IKubernetesApi? api = null, Func<string, string?>? environment = null)
    {
        var spec = ProviderSpecs.Parse(PrometheusConnectionSpecTests.Spec(block, server.ToString().TrimEnd('/') + "/workspaces/ws-0a1b2c3d"));
        return new PrometheusMetricProvider(new HttpClient(), api, new FakeTimeProvider(Now), environment: environment ?? (_ => null))
            .Open(spec, spec.Analysis!.Metrics[0]);
    }

    private const string FromSecret = "  accessKeyId: {secret: {name: aws, key: id}}\n  secretAccessKey: {secret: {name: aws, key: secret}}\n";

    [Fact]
    public void The_sigv4_block_reads_region_service_and_the_key_pair_sources()
    {
        var spec = ProviderSpecs.Parse(PrometheusConnectionSpecTests.Spec(Block(FromSecret)));
        var sigv4 = Assert.IsType<PrometheusProviderSpec>(spec.Analysis!.Metrics[0].Provider).Connection!.SigV4!;
        Assert.Equal(("us-west-2", "aps"), (sigv4.Region, sigv4.Service));
        Assert.Equal(new SecretKeyRef("aws", "secret"), sigv4.SecretAccessKey!.Secret);
        Assert.True(spec.Analysis.Metrics[0].Provider.ReadsSecrets);
        var fromEnvironment = ProviderSpecs.Parse(PrometheusConnectionSpecTests.Spec(Block("  service: aps\n")));
        Assert.False(fromEnvironment.Analysis!.Metrics[0].Provider.ReadsSecrets);
    }

    [Theory]
    [InlineData("sigv4:\n  accessKeyId: {file: /k/id}\n  secretAccessKey: {file: /k/s}\n", "sigv4.region", "required")]
    [InlineData("sigv4:\n  region: us west\n", "sigv4.region", "is not an AWS region")]
    [InlineData("sigv4:\n  region: us-west-2\n  secretAccessKey: " + Secret + "\n  accessKeyId: AKIA1\n", "sigv4.secretAccessKey", "must not be written in the spec")]
    [InlineData("sigv4:\n  region: us-west-2\n  accessKeyId: {file: /k/id}\n", "sigv4.secretAccessKey", "together")]
    [InlineData("sigv4:\n  region: us-west-2\n  sessionToken: {file: /k/t}\n", "sigv4.sessionToken", "give them too")]
    [InlineData("sigv4:\n  region: us-west-2\nbearerToken: {file: /t}\n", "sigv4", "one kind of authentication")]
    public void A_sigv4_block_that_cannot_sign_is_refused_naming_the_field(string block, string field, string message)
    {
        var problems = Kubestead.Specs.RolloutSpecParser.Parse(PrometheusConnectionSpecTests.Spec(block)).Problems;
        var problem = Assert.Single(problems, p => p.Field == $"{Field}.{field}");
        Assert.Contains(message, problem.Message);
        Assert.All(problems, p => Assert.DoesNotContain(Secret, p.ToString()));
    }

    [Fact]
    public async Task A_window_is_read_with_requests_signed_by_the_key_pair_in_a_secret()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Workspace());
        var window = await Open(server.Address, Block(FromSecret), Cluster())(Now.AddMinutes(-2), Now, CancellationToken.None);
        Assert.Equal(12, window.Canary.Requests);
        Assert.All(server.Requests, r => Assert.StartsWith("/workspaces/ws-0a1b2c3d/api/v1/query", r.Path));
        Assert.All(server.Requests, r => Assert.Equal("20260304T050607Z", r.Headers["X-Amz-Date"]));
    }

    [Fact]
    public async Task The_environment_and_the_shared_credentials_file_supply_the_key_pair_when_the_spec_names_none()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Workspace(sessionToken: "env-session-token"));
        var environment = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = KeyId, ["AWS_SECRET_ACCESS_KEY"] = Secret, ["AWS_SESSION_TOKEN"] = "env-session-token",
        };
        var window = await Open(server.Address, Block(""), environment: environment.GetValueOrDefault)(Now.AddMinutes(-2), Now, CancellationToken.None);
        Assert.Equal(12, window.Canary.Requests);

        await using var fileServer = await LoopbackHttpServer.StartAsync(Workspace());
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, $"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[metrics]\naws_access_key_id = {KeyId}\naws_secret_access_key = {Secret}\n");
            var fromFile = new Dictionary<string, string> { ["AWS_SHARED_CREDENTIALS_FILE"] = file, ["AWS_PROFILE"] = "metrics" };
            window = await Open(fileServer.Address, Block(""), environment: fromFile.GetValueOrDefault)(Now.AddMinutes(-2), Now, CancellationToken.None);
            Assert.Equal(12, window.Canary.Requests);
            fromFile["AWS_PROFILE"] = "absent";
            var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() =>
                Open(fileServer.Address, Block(""), environment: fromFile.GetValueOrDefault)(Now.AddMinutes(-2), Now, CancellationToken.None));
            Assert.Equal($"{Field}.sigv4: the shared credentials file {file} has no profile [absent]", e.Message);
        }
        finally
        {
            File.Delete(file);
        }
        var none = await Assert.ThrowsAsync<MetricsUnavailableException>(() =>
            Open(fileServer.Address, Block(""), environment: _ => null)(Now.AddMinutes(-2), Now, CancellationToken.None));
        Assert.StartsWith($"{Field}.sigv4: no AWS credentials: give accessKeyId and secretAccessKey", none.Message);
    }

    [Fact]
    public async Task A_refused_signature_names_the_sigv4_field_and_awss_reason_never_the_secret()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Workspace());
        var e = await Assert.ThrowsAsync<MetricsUnavailableException>(() =>
            Open(server.Address, Block(FromSecret), Cluster("wrong-" + Secret))(Now.AddMinutes(-2), Now, CancellationToken.None));
        Assert.StartsWith($"Prometheus at {server.Address}workspaces/ws-0a1b2c3d/ ({Field}.sigv4) answered HTTP 403 Forbidden: the credentials were refused: The request signature we calculated does not match", e.Message);
        Assert.DoesNotContain(Secret, e.ToString());
        // Refused once with the kept Secret, then once more with it read afresh (a rotation is picked up at once).
        Assert.Equal(2, server.Requests.Count);
    }
}
