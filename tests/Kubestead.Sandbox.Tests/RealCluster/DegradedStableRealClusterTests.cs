using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Issue #25 item 6 on the real kube-apiserver: a stable Deployment with 1 of 4 pods ready (as its controller reports
/// through the status subresource) is refused by validate and start, naming it and the counts; nothing is created.
/// </summary>
public class DegradedStableRealClusterTests
{
    [RealClusterFact]
    public async Task A_stable_with_1_of_4_pods_ready_is_refused_and_nothing_is_created()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("degraded");
        var objects = MeshFixtures.IstioSubsetObjects();
        objects[0].Item2["spec"]!["replicas"] = 4;
        await env.SeedAsync(objects);
        env.Readiness.Hold("reviews");
        await env.Admin.PatchSubresourceAsync(ResourceType.Deployment, env.Namespace, "reviews", "status",
            new MergePatch(new JsonObject { ["status"] = new JsonObject { ["readyReplicas"] = 1, ["availableReplicas"] = 1, ["unavailableReplicas"] = 3 } }));
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = MeshFixtures.IstioSubsetSpec(env.Namespace);
        var vsBefore = (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["metadata"]!["resourceVersion"]!.GetValue<string>();

        var report = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        var failed = Assert.Single(report.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.StartsWith($"spec.stable.deployment: deployments.apps/reviews in namespace {env.Namespace} has 1 of 4 pods ready", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal("StableDegraded", e.ErrorId);
        Assert.Contains("has 1 of 4 pods ready", e.Message);
        var deployments = await env.Admin.ListAsync(ResourceType.Deployment, env.Namespace);
        Assert.Equal(["reviews"], deployments.Items.Select(d => d["metadata"]!["name"]!.GetValue<string>()));
        var configMaps = await env.Admin.ListAsync(ResourceType.ConfigMap, env.Namespace);
        Assert.DoesNotContain(configMaps.Items, c => c["metadata"]!["name"]!.GetValue<string>().StartsWith("kubestead-", StringComparison.Ordinal));
        Assert.Equal(vsBefore, (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["metadata"]!["resourceVersion"]!.GetValue<string>());
    }
}
