using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #13 through the CLI: cookie header routes and the created baseline's share in status.</summary>
public class RouteFeatureCliTests
{
    private static string Repo => Kubestead.Tests.Shared.RepositoryRoot.Path;

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Header_route_set_with_a_cookie_writes_the_cookie_regex_and_refuses_half_a_cookie()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        Assert.Equal(0, (await Run(env, "start", "-f", Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml"), "--no-wait", "-n", "shop")).Code);

        var half = await Run(env, "header-route", "set", "shop", "-n", "shop", "--cookie", "canary");
        Assert.NotEqual(0, half.Code);
        Assert.Contains("--cookie needs exactly one of --cookie-value and --cookie-regex", half.Out + half.Err);
        var both = await Run(env, "header-route", "set", "shop", "-n", "shop", "--cookie", "canary", "--cookie-value", "a", "--header", "x-team");
        Assert.Contains("not both", both.Out + both.Err);

        var set = await Run(env, "header-route", "set", "shop", "-n", "shop", "--route", "beta", "--cookie", "canary", "--cookie-value", "always");
        Assert.True(set.Code == 0, set.Out + set.Err);
        var route = env.Cluster.Peek(ShopFixture.GatewayHttpRoute, "shop", "shop-kubestead")!;
        var headers = route["spec"]!["rules"]!.AsArray().Select(r => r?["matches"]?[0]?["headers"]?[0]).OfType<JsonNode>().ToList();
        Assert.Contains(headers, h => h["name"]!.GetValue<string>() == "cookie" && h["value"]!.GetValue<string>() == @"^(.*;\s*)?canary=(always)(;.*)?$");

        var bad = await Run(env, "header-route", "set", "shop", "-n", "shop", "--route", "bad", "--cookie", "canary", "--cookie-value", "a;b");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("header route 'bad': the cookie value 'a;b' contains ';'", bad.Out + bad.Err);
    }

    [Fact]
    public async Task Status_shows_the_baseline_share()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var spec = File.ReadAllText(Path.Combine(Repo, "examples", "sandbox", "linkerd-baseline.yaml"))
            .Replace("    - setWeight: 10\n", "    - setWeight: 10\n    - pause: {}\n", StringComparison.Ordinal);
        var file = Path.Combine(Path.GetTempPath(), $"baseline-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, spec);
        try
        {
            await Run(env, "start", "-f", file, "-n", "shop");
            var text = await Run(env, "status", "shop", "-n", "shop");
            Assert.Contains("10% (baseline 10%)", text.Out);
            var json = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
            Assert.Equal(10, json["weights"]!["baseline"]!.GetValue<double>());
            Assert.Equal(80, json["weights"]!["stable"]!.GetValue<double>());
            Assert.NotNull(env.Cluster.Peek(ResourceType.Deployment, "shop", ShopFixture.BaselineDeployment));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
