using System.Text.Json.Nodes;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #19 through the CLI: honest waits and status that says whether anything drives the rollout.</summary>
public class LifecycleCliTests
{
    private static string Repo => Kubestead.Tests.Shared.RepositoryRoot.Path;

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Wait_that_times_out_exits_5_and_status_says_nothing_drives_the_rollout()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var spec = Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml");
        Assert.Equal(0, (await Run(env, "start", "-f", spec, "--no-wait", "-n", "shop")).Code);

        var (code, stdout, _) = await Run(env, "wait", "shop", "-n", "shop", "--timeout", "00:02:00", "-o", "json");
        Assert.Equal(ExitCodes.TimedOut, code);
        Assert.Equal(5, code);
        var doc = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal("progressing", doc["phase"]!.GetValue<string>());
        Assert.True(doc["timedOut"]!.GetValue<bool>());
        Assert.Null(doc["driver"]!["holder"]);
        Assert.NotNull(doc["driver"]!["notDrivenSince"]);

        var status = await Run(env, "status", "shop", "-n", "shop");
        Assert.Equal(0, status.Code);
        Assert.Contains("not driven since", status.Out);
        Assert.Contains("kubestead wait", status.Out);
    }

    [Fact]
    public async Task Status_names_the_driver_holding_the_lease_and_its_last_heartbeat()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var spec = Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml");
        Assert.Equal(0, (await Run(env, "start", "-f", spec, "--no-wait", "-n", "shop")).Code);
        var ci = new DriverIdentity("ci-job-42", "runner-7", null, "1");
        await RolloutLease.AcquireAsync(env.Cluster, env.Clock, "shop", "shop", ci, TimeSpan.FromSeconds(60));
        ((Kubestead.Sandbox.VirtualClock)env.Clock).Advance(TimeSpan.FromSeconds(20));

        var (code, stdout, _) = await Run(env, "status", "shop", "-n", "shop", "-o", "json");
        Assert.Equal(0, code);
        var driver = JsonNode.Parse(stdout)!["driver"]!;
        Assert.Equal(ci.ToString(), driver["holder"]!.GetValue<string>());
        Assert.Null(driver["notDrivenSince"]);
        var text = (await Run(env, "status", "shop", "-n", "shop")).Out;
        Assert.Contains($"driven by {ci}, last heartbeat 20s ago", text);

        // Past the lease's expiry the driver is gone, even though nobody released the lease.
        ((Kubestead.Sandbox.VirtualClock)env.Clock).Advance(TimeSpan.FromSeconds(60));
        var gone = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!["driver"]!;
        Assert.Null(gone["holder"]);
        Assert.NotNull(gone["notDrivenSince"]);
    }

    [Fact]
    public async Task Start_of_another_version_while_one_runs_exits_6_with_a_json_error_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var path = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        var spec = File.ReadAllText(Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml"));
        Assert.Contains("registry.example.com/shop:2.0.0", spec);
        File.WriteAllText(path, spec.Replace("registry.example.com/shop:2.0.0", "registry.example.com/shop:2.1.0"));
        try
        {
            Assert.Equal(0, (await Run(env, "start", "-f", Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml"), "--no-wait", "-n", "shop")).Code);
            var writes = env.Cluster.Writes.Count;
            var (code, stdout, stderr) = await Run(env, "start", "-f", path, "-n", "shop", "-o", "json");
            Assert.Equal(ExitCodes.AnotherVersionRunning, code);
            Assert.Equal(6, code);
            Assert.Equal("RolloutRunningAnotherVersion", JsonNode.Parse(stdout)!["error"]!["id"]!.GetValue<string>());
            Assert.Contains("--replace", stderr);
            Assert.Equal(writes, env.Cluster.Writes.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
