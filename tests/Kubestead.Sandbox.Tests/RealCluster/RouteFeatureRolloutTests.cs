using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Issue #13's routing features end to end on the real kube-apiserver.</summary>
public class RouteFeatureRolloutTests
{
    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task Linkerd_route_whose_parent_is_not_the_stable_backend_rolls_out_and_is_left_as_found(string apiGroup)
    {
        var routeType = apiGroup == "policy.linkerd.io" ? MeshFixtures.LinkerdRoute : MeshFixtures.GatewayRoute;
        await using var env = await RealRolloutEnvironment.CreateAsync("parent");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(routeType));
        var routeBefore = await env.GetAsync(routeType, "checkout-service");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = RouteFeatureFixtures.ParentDiffersSpec(env.Namespace, apiGroup);

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.True(check.IsValid, string.Join("\n", check.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));

        var result = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.Empty(ObjectDiff.Unexpected(routeBefore, await env.GetAsync(routeType, "checkout-service")));
        var canaryService = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Service, "checkout-service-canary"));
        Assert.True(canaryService.IsNotFound);
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "checkout"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Without_stableService_validate_cluster_names_the_field_to_set()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("parent-bad");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(MeshFixtures.GatewayRoute));
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = RouteFeatureFixtures.ParentDiffersSpec(env.Namespace, "gateway.networking.k8s.io").Replace(", stableService: checkout-service-stable", "");

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);

        Assert.False(check.IsValid);
        Assert.Contains(check.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("spec.linkerd.stableService", StringComparison.Ordinal));
    }
}
