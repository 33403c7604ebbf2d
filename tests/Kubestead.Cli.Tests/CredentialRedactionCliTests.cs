using Kubestead.Kubernetes;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue 26 item 10: a Prometheus address with credentials in it (https://user:pass@host) must not be printed in events,
/// errors, CI step summaries or the statuses the rollout records. The run here cannot reach that Prometheus, so every
/// message about it names the address.
/// </summary>
public class CredentialRedactionCliTests
{
    private const string Password = "pr0m-S3cret-pw";

    [Fact]
    public async Task Nothing_a_run_prints_or_records_holds_the_password_of_the_prometheus_address()
    {
        var env = Kubestead.Sandbox.Demo.SandboxEnvironment.Create("istio", "healthy");
        var (dir, spec) = WriteSpecWithCredentials();
        var summary = Path.Combine(dir, "summary.md");
        var ci = new Dictionary<string, string?> { ["GITHUB_ACTIONS"] = "true", ["GITHUB_STEP_SUMMARY"] = summary };
        try
        {
            var runs = new[]
            {
                await RunAsync(env, ci, "start", "-f", spec, "--verbose"),
                await RunAsync(env, ci, "status", "shop", "-n", "shop", "-o", "json"),
                await RunAsync(env, ci, "history", "shop", "-n", "shop", "-o", "json"),
            };
            var printed = string.Join("\n", runs.Select(r => r.Out + r.Err));
            Assert.Contains("127.0.0.1:1", printed); // the address is shown: only its user info is hidden
            Assert.DoesNotContain(Password, printed);
            Assert.DoesNotContain(Password, File.ReadAllText(summary));
            // start drives from its own file, which still has the credentials the stored copy masks.
            Assert.DoesNotContain("StoredCredentialsRedacted", printed);
            Assert.DoesNotContain("basicAuth", runs[0].Out + runs[0].Err);
            var state = env.Cluster.Peek(ResourceType.ConfigMap, "shop", "kubestead-shop")!;
            Assert.DoesNotContain(Password, state["data"]!["status.json"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_stored_spec_masks_the_password_and_a_driver_resuming_from_it_names_the_field_and_changes_nothing()
    {
        var env = Kubestead.Sandbox.Demo.SandboxEnvironment.Create("istio", "healthy");
        var (dir, spec) = WriteSpecWithCredentials();
        var ci = new Dictionary<string, string?>();
        try
        {
            var start = await RunAsync(env, ci, "start", "-f", spec, "--no-wait", "--verbose");
            Assert.Equal(0, start.Code);
            var state = env.Cluster.Peek(ResourceType.ConfigMap, "shop", "kubestead-shop")!;
            var storedSpec = state["data"]!["spec.yaml"]!.GetValue<string>();
            Assert.Contains("http://***@127.0.0.1:1/", storedSpec); // the address stays; only its user info is masked
            Assert.DoesNotContain(Password, state.ToJsonString());
            Assert.DoesNotContain("ci-reader", storedSpec);

            var leaseBefore = env.Cluster.Peek(ResourceType.Lease, "shop", "kubestead-shop")?.ToJsonString();
            var wait = await RunAsync(env, ci, "wait", "shop", "-n", "shop");
            Assert.Equal(2, wait.Code);
            Assert.Contains("spec.analysis.metrics[0].provider.prometheus.address", wait.Err);
            Assert.Contains("basicAuth", wait.Err);
            Assert.DoesNotContain(Password, start.Out + start.Err + wait.Out + wait.Err);
            // Refused before anything was written: the state is as start left it and the Lease was not taken.
            Assert.Equal(state["metadata"]!["resourceVersion"]!.GetValue<string>(),
                env.Cluster.Peek(ResourceType.ConfigMap, "shop", "kubestead-shop")!["metadata"]!["resourceVersion"]!.GetValue<string>());
            Assert.Equal(leaseBefore, env.Cluster.Peek(ResourceType.Lease, "shop", "kubestead-shop")?.ToJsonString());

            // Abort reads no metrics: it still works from the masked copy.
            var abort = await RunAsync(env, ci, "abort", "shop", "-n", "shop");
            Assert.Equal(3, abort.Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The istio sandbox example reading an unreachable Prometheus whose address carries a user and <see cref="Password"/>.</summary>
    private static (string Dir, string SpecPath) WriteSpecWithCredentials()
    {
        var demo = File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "istio.yaml"));
        var withCredentials = demo.Replace("simulated: {}",
            $"prometheus: {{ address: \"http://ci-reader:{Password}@127.0.0.1:1/\", builtin: istio }}", StringComparison.Ordinal);
        Assert.NotEqual(demo, withCredentials);
        var dir = Directory.CreateTempSubdirectory("kubestead-redaction-").FullName;
        var spec = Path.Combine(dir, "shop.yaml");
        File.WriteAllText(spec, withCredentials);
        return (dir, spec);
    }

    private static Task<(int Code, string Out, string Err)> RunAsync(Kubestead.Sandbox.Demo.SandboxEnvironment env, Dictionary<string, string?> vars,
        params string[] args) => InProcessCli.RunWithRealMetricsAsync(env, vars, args);

    [Theory]
    [InlineData("Prometheus at https://user:pa%40ss@prom.example:9090/ cannot be reached", "Prometheus at https://***@prom.example:9090/ cannot be reached")]
    [InlineData("a http://token@h/x and https://h2/y", "a http://***@h/x and https://h2/y")]
    [InlineData("mail me at ops@example.com", "mail me at ops@example.com")]
    public void Url_user_info_is_masked_and_nothing_else_changes(string text, string expected) =>
        Assert.Equal(expected, UrlRedaction.Redact(text));
}
