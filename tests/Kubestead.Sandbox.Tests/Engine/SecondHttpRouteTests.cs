using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25 item 3: Linkerd without <c>httpRoute</c> would create a second HTTPRoute beside the user's on the same
/// parent; Gateway API gives the tie to the older route, so Kubestead's weights would do nothing. Refused, naming it.
/// </summary>
public class SecondHttpRouteTests
{
    private static JsonObject UserRoute(string apiVersion, int? port)
    {
        var route = JsonNode.Parse("""
            {"kind":"HTTPRoute","metadata":{"name":"shop-web","namespace":"shop"},
             "spec":{"parentRefs":[{"name":"shop","kind":"Service","group":"core"}],
                     "rules":[{"backendRefs":[{"name":"shop","port":80}]}]}}
            """)!.AsObject();
        route["apiVersion"] = apiVersion;
        if (port is { } p) route["spec"]!["parentRefs"]![0]!["port"] = p;
        return route;
    }

    [Theory]
    [InlineData("gateway.networking.k8s.io/v1", 80)]
    [InlineData("gateway.networking.k8s.io/v1", null)]
    [InlineData("policy.linkerd.io/v1beta3", 80)]
    public async Task A_users_HTTPRoute_on_the_same_Service_port_is_named_and_nothing_is_written(string apiVersion, int? port)
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var type = apiVersion.StartsWith("policy", StringComparison.Ordinal) ? ShopFixture.LinkerdHttpRoute : ShopFixture.GatewayHttpRoute;
        env.Cluster.Seed(type, UserRoute(apiVersion, port));
        var before = StartTransactionTests.Snapshot(env.Cluster);
        await using var service = env.CreateService(NullRolloutObserver.Instance);

        var check = await service.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd") }, checkCluster: true);
        var failed = Assert.Single(check.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.StartsWith($"spec.linkerd.httpRoute: httproutes.{type.Group}/shop-web in namespace shop already attaches to Service shop", failed.Message);
        Assert.Contains("set spec.linkerd.httpRoute: shop-web", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd") }, wait: true));
        Assert.Equal("SecondHttpRoute", e.ErrorId);
        Assert.Equal(before, StartTransactionTests.Snapshot(env.Cluster));
    }

    [Fact]
    public async Task A_route_on_another_port_of_the_Service_is_no_second_route()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        env.Cluster.Seed(ShopFixture.GatewayHttpRoute, UserRoute("gateway.networking.k8s.io/v1", 9090));
        await using var service = env.CreateService(NullRolloutObserver.Instance);
        var check = await service.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd") }, checkCluster: true);
        Assert.DoesNotContain(check.Checks, c => c.Outcome == CheckOutcome.Failed);
    }
}
