using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Simulation;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Sandbox.Tests.Demo;

public class Linkerd1DemoTests
{
    [Fact]
    public async Task The_rollout_routes_by_the_dtab_and_leaves_namerd_as_it_found_it()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var before = env.Namerd!.Peek(ShopFixture.DtabNamespace);
        await using var service = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd1") }, wait: true));
        env.Traffic.CatchUp();
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        var (_, _, canaryRequests, _) = env.Traffic.Simulator.Totals();
        Assert.True(canaryRequests > 100, $"canary saw {canaryRequests} requests: the dtab's weights must reach the simulated traffic");
        Assert.Equal(before, env.Namerd.Peek(ShopFixture.DtabNamespace));
        Assert.Contains(env.Namerd.Log, l => l.StartsWith("PUT /api/1/dtabs/shop", StringComparison.Ordinal));
    }

    [Fact]
    public void The_simulator_follows_weighted_unions_alternations_and_fallback_through_the_dtab()
    {
        var services = new HashSet<string> { "shop", "shop-canary" };
        double Share(string dtab) => RouteShareReader.FromDtab(dtab, "/svc/shop", "shop", "shop-canary", services.Contains);
        Assert.Equal(0, Share(ShopFixture.Dtab));
        Assert.Equal(0.05, Share(ShopFixture.Dtab + "/svc/shop => 95 * /env/prod/shop & 5 * /env/prod/shop-canary;"), 9);
        // A later dentry that does not bind falls back to the earlier ones; an alternation takes the first that binds.
        Assert.Equal(0, Share(ShopFixture.Dtab + "/svc/shop => /env/prod/nowhere;"));
        Assert.Equal(1, Share(ShopFixture.Dtab + "/svc/shop => /env/prod/nowhere | /env/prod/shop-canary;"));
        services.Remove("shop-canary");
        Assert.Equal(0, Share(ShopFixture.Dtab + "/svc/shop => 95 * /env/prod/shop & 5 * /env/prod/shop-canary;"));
        Assert.NotEmpty(DtabDocument.Parse(ShopFixture.Dtab).Entries);
    }
}
