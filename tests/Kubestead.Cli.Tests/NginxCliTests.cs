using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

public class NginxCliTests
{
    private static readonly string Spec = Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "nginx.yaml");

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Start_dry_run_gives_each_steps_canary_weight_on_the_canary_ingress_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        var writes = env.Cluster.Writes.Count;
        var dry = await Run(env, "start", "-f", Spec, "-n", "shop", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("step 1: setWeight 5% (Ingress shop-canary: canary-weight 5 of 100)", dry.Out);
        Assert.Contains("setWeight 50% (Ingress shop-canary: canary-weight 50 of 100)", dry.Out);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task Header_route_set_with_a_cookie_sets_canary_by_cookie_and_a_cookie_regex_is_refused_writing_nothing()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        Assert.Equal(0, (await Run(env, "start", "-f", Spec, "--no-wait", "-n", "shop")).Code);
        var writes = env.Cluster.Writes.Count;
        var regex = await Run(env, "header-route", "set", "shop", "-n", "shop", "--route", "beta", "--cookie", "session", "--cookie-regex", "beta-[0-9]+");
        Assert.NotEqual(0, regex.Code);
        Assert.Contains("ingress-nginx routes by cookie only when its value is \"always\"", regex.Err);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var set = await Run(env, "header-route", "set", "shop", "-n", "shop", "--route", "beta", "--cookie", "canary_user", "--cookie-value", "always");
        Assert.Equal(0, set.Code);
        var canary = env.Cluster.PeekAll(ResourceType.Ingress, "shop").Single(i => i["metadata"]!["name"]!.GetValue<string>() == "shop-canary");
        Assert.Equal("canary_user", canary["metadata"]!["annotations"]!["nginx.ingress.kubernetes.io/canary-by-cookie"]!.GetValue<string>());
    }

    [Fact]
    public async Task Gitops_names_no_ingress_and_says_the_canary_ingress_is_kubesteads_own()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        Assert.Equal(0, (await Run(env, "start", "-f", Spec, "--no-wait", "-n", "shop")).Code);
        var g = await Run(env, "gitops", "shop", "-n", "shop");
        Assert.Equal(0, g.Code);
        Assert.Contains("Kubestead creates and deletes the canary Ingress shop-canary and Service shop-canary", g.Out);
        Assert.DoesNotContain("kind: Ingress", g.Out);
        Assert.DoesNotContain("/spec/replicas", g.Out);
    }
}
