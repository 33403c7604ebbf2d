using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue #26 item 9: `abort --file` when a rollout's state ConfigMap and its Lease are both gone: the spec names the route
/// objects, and what Kubestead created or changed is found by its marks.
/// </summary>
public class AbortBySpecFileCliTests
{
    private static readonly string Spec = Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "linkerd.yaml");

    private static async Task<SandboxEnvironment> StateAndLeaseDeletedAsync()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        Assert.Equal(0, (await InProcessCli.RunAsync(env, null, ["start", "-f", Spec, "--no-wait", "-n", "shop"])).Code);
        Assert.Equal(0, (await InProcessCli.RunAsync(env, null, ["set-weight", "shop", "20", "-n", "shop"])).Code);
        await env.Cluster.DeleteAsync(ResourceType.ConfigMap, "shop", "kubestead-shop");
        await env.Cluster.DeleteAsync(ResourceType.Lease, "shop", "kubestead-shop");
        return env;
    }

    [Fact]
    public async Task Abort_with_the_spec_file_rolls_back_a_rollout_whose_state_and_lease_are_gone()
    {
        var env = await StateAndLeaseDeletedAsync();
        var writes = env.Cluster.Writes.Count;
        var without = await InProcessCli.RunAsync(env, null, ["abort", "shop", "-n", "shop"]);
        Assert.NotEqual(ExitCodes.Success, without.Code);
        Assert.Contains("RolloutNotFound", without.Err);
        var dry = await InProcessCli.RunAsync(env, null, ["abort", "shop", "-n", "shop", "--file", Spec, "--dry-run"]);
        Assert.Equal(0, dry.Code);
        Assert.Contains("spec file", dry.Out);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var abort = await InProcessCli.RunAsync(env, null, ["abort", "shop", "-n", "shop", "--file", Spec, "--wait"]);

        Assert.Equal(ExitCodes.RolledBack, abort.Code);
        Assert.Contains("Aborted", abort.Out);
        Assert.Equal(0, ShopFixture.Reader(env.Cluster, env.Mesh)().CanaryShare);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, "shop", "shop-canary"));
    }

    [Fact]
    public async Task Abort_with_a_missing_spec_file_exits_2_naming_it_and_writes_nothing()
    {
        var env = await StateAndLeaseDeletedAsync();
        var writes = env.Cluster.Writes.Count;
        var abort = await InProcessCli.RunAsync(env, null, ["abort", "shop", "-n", "shop", "--file", "no-such-spec.yaml"]);
        Assert.Equal(ExitCodes.InvalidInput, abort.Code);
        Assert.Contains("no-such-spec.yaml", abort.Err);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }
}
