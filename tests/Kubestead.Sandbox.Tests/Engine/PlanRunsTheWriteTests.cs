using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Traffic;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// -WhatIf/--dry-run plans only the writes the real call makes (issue #27 item 6): header-route plans run the router's
/// own write against a recorder, and an abort plan follows the abort's branches for finished rollouts.
/// </summary>
public class PlanRunsTheWriteTests
{
    private const string Ns = ShopFixture.Namespace;

    private static async Task<(SandboxEnvironment Env, IKubesteadService Svc)> StartedAsync(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var svc = env.CreateService(NullRolloutObserver.Instance);
        await svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false);
        return (env, svc);
    }

    [Theory]
    [InlineData("none", null, "HeaderRoutesNeedMesh")]
    [InlineData("smi", null, "HeaderRoutesNotSupported")]
    [InlineData("nginx", "beta", "NginxCookieValue")] // ingress-nginx routes by cookie only on the value "always"
    public async Task A_header_route_plan_refuses_where_the_write_refuses_and_writes_nothing(string mesh, string? cookieValue, string errorId)
    {
        var (env, svc) = await StartedAsync(mesh);
        await using var _ = svc;
        var route = cookieValue is null ? new HeaderRouteRequest("testers") : new HeaderRouteRequest("testers", Cookie: new CookieMatch("canary_user", cookieValue));
        var writes = env.Cluster.Writes.Count;
        var planned = await Assert.ThrowsAsync<TrafficRoutingException>(() => svc.PlanAsync(new SetHeaderRouteOperation(Ns, "shop", route)));
        var written = await Assert.ThrowsAsync<TrafficRoutingException>(() => svc.SetHeaderRouteAsync(Ns, "shop", route));
        Assert.Equal(errorId, planned.ErrorId);
        Assert.Equal(written.ErrorId, planned.ErrorId);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task An_istio_header_route_plan_lists_the_patch_the_write_then_sends()
    {
        var (env, svc) = await StartedAsync("istio");
        await using var _ = svc;
        var writes = env.Cluster.Writes.Count;
        var plan = await svc.PlanAsync(new SetHeaderRouteOperation(Ns, "shop", new HeaderRouteRequest("testers")));
        Assert.Equal(writes, env.Cluster.Writes.Count);
        var routeWrite = Assert.Single(plan, c => c.Target.StartsWith("virtualservices.networking.istio.io/shop", StringComparison.Ordinal));
        Assert.Equal("patch", routeWrite.Verb);
        Assert.Contains("x-canary", routeWrite.Body);
        Assert.Single(plan, c => c.Target.StartsWith("configmaps/kubestead-shop", StringComparison.Ordinal));

        await svc.SetHeaderRouteAsync(Ns, "shop", new HeaderRouteRequest("testers"));
        var made = env.Cluster.Writes.Skip(writes).ToList();
        Assert.Single(made, w => w.Contains("virtualservices/shop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Aborting_an_aborted_rollout_plans_nothing_and_writes_nothing()
    {
        var (env, svc) = await StartedAsync("istio");
        await using var _ = svc;
        var running = await svc.PlanAsync(new AbortOperation(Ns, "shop"));
        Assert.Contains(running, c => c.Description == "record phase Aborted");
        await svc.AbortAsync(Ns, "shop", waitForCleanup: true);

        var writes = env.Cluster.Writes.Count;
        var plan = await svc.PlanAsync(new AbortOperation(Ns, "shop"));
        var none = Assert.Single(plan);
        Assert.Equal("none", none.Verb);
        Assert.Contains("already Aborted and cleaned up", none.Description);
        var again = await svc.AbortAsync(Ns, "shop");
        Assert.Equal(RolloutPhase.Aborted, again.Phase);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }
}
