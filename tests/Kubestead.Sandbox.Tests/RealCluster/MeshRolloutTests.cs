using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Each mesh's rollout end to end on the real kube-apiserver, on production-shaped objects.</summary>
public class MeshRolloutTests
{
    private static readonly string[] StatusOnly = [@"^/status(/.*)?$"];

    [RealClusterFact]
    public async Task Istio_subsets_rollout_completes_and_leaves_the_route_as_it_found_it()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("istio");
        var seeded = await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var drBefore = await env.GetAsync(MeshFixtures.DestinationRule, "reviews");
        var stableBefore = await env.GetAsync(ResourceType.Deployment, "reviews");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Equal(100, result.StableWeight);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.Empty(ObjectDiff.Unexpected(vsBefore, await env.GetAsync(MeshFixtures.VirtualService, "reviews")));
        Assert.Empty(ObjectDiff.Unexpected(drBefore, await env.GetAsync(MeshFixtures.DestinationRule, "reviews")));
        var stableAfter = await env.GetAsync(ResourceType.Deployment, "reviews");
        Assert.Equal(["/spec/template/spec/containers/0/image"],
            ObjectDiff.Unexpected(stableBefore, stableAfter, StatusOnly));
        Assert.Equal(MeshFixtures.CanaryImage, stableAfter["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        var canaryGone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Deployment, "reviews-canary"));
        Assert.True(canaryGone.IsNotFound);
        Assert.NotEmpty(seeded);
    }

    [RealClusterFact]
    public async Task Istio_host_based_rollout_completes_and_only_weights_moved()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("istio-host");
        await env.SeedAsync(MeshFixtures.IstioHostBasedObjects());
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "shop");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioHostBasedSpec(env.Namespace) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        var vsAfter = await env.GetAsync(MeshFixtures.VirtualService, "shop");
        // Host-based promotion moves all traffic to the canary Service; nothing but the two weights may differ.
        Assert.Empty(ObjectDiff.Unexpected(vsBefore, vsAfter, @"^/spec/http/0/route/[01]/weight$"));
        Assert.Equal(100, vsAfter["spec"]!["http"]![0]!["route"]![0]!["weight"]!.GetValue<int>() + vsAfter["spec"]!["http"]![0]!["route"]![1]!["weight"]!.GetValue<int>());
    }

    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task Linkerd_rollout_completes_with_either_HTTPRoute_group(string apiGroup)
    {
        var routeType = MeshFixtures.RouteType(apiGroup);
        await using var env = await RealRolloutEnvironment.CreateAsync("linkerd");
        await env.SeedAsync(MeshFixtures.LinkerdObjects(routeType));
        var routeBefore = await env.GetAsync(routeType, "checkout");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.LinkerdSpec(env.Namespace, apiGroup) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Empty(ObjectDiff.Unexpected(routeBefore, await env.GetAsync(routeType, "checkout")));
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "checkout"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Smi_rollout_completes_on_the_version_the_crd_serves()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("smi");
        await env.SeedAsync(MeshFixtures.SmiObjects());
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.SmiSpec(env.Namespace) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        var split = await env.GetAsync(MeshFixtures.TrafficSplit, "payments");
        Assert.Equal("split.smi-spec.io/v1alpha4", split["apiVersion"]!.GetValue<string>());
        var stable = split["spec"]!["backends"]!.AsArray().Single(b => b!["service"]!.GetValue<string>() == "payments");
        Assert.Equal(100, stable!["weight"]!.GetValue<int>());
    }

    [RealClusterFact]
    public async Task No_mesh_rollout_moves_traffic_by_replica_counts()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nomesh");
        await env.SeedAsync(MeshFixtures.NoMeshObjects());
        var stableBefore = await env.GetAsync(ResourceType.Deployment, "api");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.NoMeshSpec(env.Namespace) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 10);
        var stableAfter = await env.GetAsync(ResourceType.Deployment, "api");
        Assert.Equal(["/spec/template/spec/containers/0/image"], ObjectDiff.Unexpected(stableBefore, stableAfter, StatusOnly));
        Assert.Equal(9, stableAfter["spec"]!["replicas"]!.GetValue<int>());
        Assert.True(env.Readiness.StatusWrites >= 2, "the canary Deployment Kubestead created was marked ready too");
    }
}
