using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// A created baseline on Istio, SMI and without a mesh on the real kube-apiserver (issue #13 item 5): mid-rollout the
/// objects route three ways with the right weights; after promotion and after abort no baseline Deployment, Service,
/// subset, destination or backend remains and the user's objects are otherwise as they were.
/// </summary>
public class BaselineMeshRolloutTests
{
    private const string PausedSteps = """
          steps:
            - setWeight: 20
            - pause: {}
            - setWeight: 40
            - pause: { duration: 1m }
        """;

    private static string WithBaseline(string spec) =>
        spec.Replace("  stable: {", "  baseline: { create: true }\n  stable: {", StringComparison.Ordinal);

    private static async Task AssertGoneAsync(RealRolloutEnvironment env, params (ResourceType Type, string Name)[] objects)
    {
        foreach (var (type, name) in objects)
        {
            var gone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(type, name));
            Assert.True(gone.IsNotFound, $"{type.Plural}/{name} is left");
        }
    }

    [RealClusterTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Istio_routes_three_ways_through_a_baseline_subset_and_promotion_or_abort_removes_it(bool abort)
    {
        await using var env = await RealRolloutEnvironment.CreateAsync(abort ? "istio-bl-abort" : "istio-bl");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var drBefore = await env.GetAsync(MeshFixtures.DestinationRule, "reviews");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = WithBaseline(MeshFixtures.IstioSubsetSpec(env.Namespace, PausedSteps));
        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.True(check.IsValid, string.Join("\n", check.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));

        var paused = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        Assert.Equal((60, 20, 20), (paused.StableWeight, paused.CanaryWeight, paused.BaselineWeight));
        var route = (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["spec"]!["http"]![1]!["route"]!.AsArray();
        Assert.Equal(["stable:60", "canary:20", "baseline:20"], route.Select(d => $"{d!["destination"]!["subset"]}:{d["weight"]}"));
        Assert.Equal("""{"number":9080}""", route[2]!["destination"]!["port"]!.ToJsonString());
        var subset = (await env.GetAsync(MeshFixtures.DestinationRule, "reviews"))["spec"]!["subsets"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "baseline")!;
        Assert.Equal("""{"version":"baseline"}""", subset["labels"]!.ToJsonString());
        var baseline = await env.GetAsync(ResourceType.Deployment, "reviews-baseline");
        Assert.Equal("registry.example.com/app:1.0.0", baseline["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal((await env.GetAsync(ResourceType.Deployment, "reviews-canary"))["spec"]!["replicas"]!.GetValue<int>(), baseline["spec"]!["replicas"]!.GetValue<int>());

        var end = abort
            ? await service.AbortAsync(env.Namespace, "reviews", waitForCleanup: true)
            : await service.ResumeAsync(env.Namespace, "reviews", wait: true);

        Assert.Equal(abort ? RolloutPhase.Aborted : RolloutPhase.Completed, end.Phase);
        if (!abort) Assert.Contains(end.History, h => h.CanaryWeight == 40);
        Assert.Empty(ObjectDiff.Unexpected(vsBefore, await env.GetAsync(MeshFixtures.VirtualService, "reviews")));
        Assert.Empty(ObjectDiff.Unexpected(drBefore, await env.GetAsync(MeshFixtures.DestinationRule, "reviews")));
        await AssertGoneAsync(env, (ResourceType.Deployment, "reviews-baseline"), (ResourceType.Deployment, "reviews-canary"));
    }

    [RealClusterTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Smi_routes_three_ways_through_a_baseline_backend_and_promotion_or_abort_removes_it(bool abort)
    {
        await using var env = await RealRolloutEnvironment.CreateAsync(abort ? "smi-bl-abort" : "smi-bl");
        await env.SeedAsync(MeshFixtures.SmiObjects());
        var splitBefore = await env.GetAsync(MeshFixtures.TrafficSplit, "payments");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = WithBaseline(MeshFixtures.SmiSpec(env.Namespace).Replace(MeshFixtures.Steps, PausedSteps, StringComparison.Ordinal));
        Assert.Contains("pause: {}", spec);
        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.True(check.IsValid, string.Join("\n", check.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));

        var paused = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        Assert.Equal((60, 20, 20), (paused.StableWeight, paused.CanaryWeight, paused.BaselineWeight));
        var backends = (await env.GetAsync(MeshFixtures.TrafficSplit, "payments"))["spec"]!["backends"]!.AsArray();
        Assert.Equal(["payments:60", "payments-canary:20", "payments-baseline:20"], backends.Select(b => $"{b!["service"]}:{b["weight"]}"));
        var baselineService = await env.GetAsync(ResourceType.Service, "payments-baseline");
        Assert.Equal("""{"app":"payments","version":"baseline"}""", baselineService["spec"]!["selector"]!.ToJsonString());
        Assert.Equal("baseline", (await env.GetAsync(ResourceType.Deployment, "payments-baseline"))["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());

        var end = abort
            ? await service.AbortAsync(env.Namespace, "payments", waitForCleanup: true)
            : await service.ResumeAsync(env.Namespace, "payments", wait: true);

        Assert.Equal(abort ? RolloutPhase.Aborted : RolloutPhase.Completed, end.Phase);
        var splitAfter = await env.GetAsync(MeshFixtures.TrafficSplit, "payments");
        Assert.Empty(ObjectDiff.Unexpected(splitBefore, splitAfter));
        await AssertGoneAsync(env, (ResourceType.Deployment, "payments-baseline"), (ResourceType.Service, "payments-baseline"),
            (ResourceType.Deployment, "payments-canary"), (ResourceType.Service, "payments-canary"));
    }

    [RealClusterFact]
    public async Task No_mesh_gives_the_baseline_as_many_ready_pods_as_the_canary_and_removes_it_at_promotion()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nomesh-bl");
        await env.SeedAsync(MeshFixtures.NoMeshObjects());
        var serviceBefore = await env.GetAsync(ResourceType.Service, "api");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = WithBaseline(MeshFixtures.NoMeshSpec(env.Namespace))
            .Replace("    - setWeight: 10\n    - pause: { duration: 1m }", "    - setWeight: 20\n    - pause: {}", StringComparison.Ordinal)
            .Replace("setWeight: 50", "setWeight: 40", StringComparison.Ordinal);
        Assert.Contains("pause: {}", spec);

        var paused = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        // 9 stable pods: 20% is 3 canary and 3 baseline pods (9:3:3).
        Assert.Equal(3, (await env.GetAsync(ResourceType.Deployment, "api-canary"))["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.Equal(3, (await env.GetAsync(ResourceType.Deployment, "api-baseline"))["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.Equal(9, (await env.GetAsync(ResourceType.Deployment, "api"))["spec"]!["replicas"]!.GetValue<int>());

        var done = await service.ResumeAsync(env.Namespace, "api", wait: true);

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Empty(ObjectDiff.Unexpected(serviceBefore, await env.GetAsync(ResourceType.Service, "api")));
        await AssertGoneAsync(env, (ResourceType.Deployment, "api-baseline"), (ResourceType.Deployment, "api-canary"));
    }
}
