using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

public class Linkerd1CliTests
{
    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Header_route_set_prints_the_l5d_dtab_header_and_writes_nothing_to_namerd()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var spec = Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "linkerd1.yaml");
        Assert.Equal(0, (await Run(env, "start", "-f", spec, "--no-wait", "-n", "shop")).Code);
        var dtab = env.Namerd!.Peek(ShopFixture.DtabNamespace);

        var dry = await Run(env, "header-route", "set", "shop", "-n", "shop", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", dry.Out);

        var set = await Run(env, "header-route", "set", "shop", "-n", "shop");
        Assert.Equal(0, set.Code);
        Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", set.Out);
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));
    }
}
