using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Issue #25 item 3 on the real kube-apiserver: Linkerd without <c>spec.linkerd.httpRoute</c>, beside the user's
/// production-shaped HTTPRoute on the same Service port, is refused naming that route, and nothing is created.
/// </summary>
public class SecondRouteRealClusterTests
{
    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task A_second_HTTPRoute_on_the_users_parent_is_refused_naming_the_users_route(string apiGroup)
    {
        var routeType = MeshFixtures.RouteType(apiGroup);
        await using var env = await RealRolloutEnvironment.CreateAsync("second-route");
        await env.SeedAsync(MeshFixtures.LinkerdObjects(routeType));
        var spec = MeshFixtures.LinkerdSpec(env.Namespace, apiGroup).Replace("httpRoute: checkout, ", "");
        Assert.DoesNotContain("httpRoute", spec);
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var report = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        var failed = Assert.Single(report.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.StartsWith($"spec.linkerd.httpRoute: httproutes.{apiGroup}/checkout in namespace {env.Namespace} already attaches to Service checkout port 8080", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal("SecondHttpRoute", e.ErrorId);
        Assert.Equal(["checkout"], (await env.Admin.ListAsync(routeType, env.Namespace)).Items.Select(r => r["metadata"]!["name"]!.GetValue<string>()));
        Assert.Equal(["checkout"], (await env.Admin.ListAsync(ResourceType.Service, env.Namespace)).Items.Select(r => r["metadata"]!["name"]!.GetValue<string>()));
        Assert.Equal(["checkout"], (await env.Admin.ListAsync(ResourceType.Deployment, env.Namespace)).Items.Select(r => r["metadata"]!["name"]!.GetValue<string>()));
    }
}
