using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Simulation;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25 item 2: with a mesh, an autoscaler that scales stable while a weight holds (4 -> 16 pods at 50%) makes the
/// canary (and a created baseline) follow within a round, not only at the next weight step.
/// </summary>
public class CanaryFollowsStableReplicasTests
{
    private static int Replicas(SandboxEnvironment env, string deployment) =>
        env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, deployment)?["spec"]?["replicas"]?.GetValue<int>() ?? 0;

    private static double CanaryWeight(SandboxEnvironment env) => env.Mesh switch
    {
        "istio" => env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, ShopFixture.Name) is { } vs
            ? RouteShareReader.FromVirtualService(vs, d => d["subset"]?.GetValue<string>() == "canary") : 0,
        _ => env.Cluster.Peek(ShopFixture.GatewayHttpRoute, ShopFixture.Namespace, $"{ShopFixture.Name}-kubestead") is { } route
            ? RouteShareReader.FromHttpRoute(route, ShopFixture.CanaryService) : 0,
    };

    [Theory]
    [InlineData("istio", false)]
    [InlineData("linkerd", true)]
    public async Task Stable_scaled_by_an_autoscaler_while_a_weight_holds_resizes_the_canary_before_the_next_step(string mesh, bool baseline)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var scheduled = false;
        var followedAtHalf = false;
        var largestCanaryAtHalfBeforeScaling = 0;
        env.Cluster.Changed += (_, _, _) =>
        {
            var weight = CanaryWeight(env);
            if (Math.Abs(weight - 0.5) > 1e-9) return;
            if (!scheduled)
            {
                // What the HPA does when load rises: it writes stable's spec.replicas (here 4 -> 16), 10 s into the 50% step.
                scheduled = true;
                env.Cluster.ScheduleExternalRewrite(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.Name, "/spec/replicas", JsonValue.Create(16), TimeSpan.FromSeconds(10));
            }
            if (Replicas(env, ShopFixture.Name) == 16)
            {
                if (Replicas(env, $"{ShopFixture.Name}-canary") == 8 && (!baseline || Replicas(env, ShopFixture.BaselineDeployment) == 8)) followedAtHalf = true;
            }
            else largestCanaryAtHalfBeforeScaling = Math.Max(largestCanaryAtHalfBeforeScaling, Replicas(env, $"{ShopFixture.Name}-canary"));
        };
        var recorder = new RecordingObserver();
        await using var service = env.CreateService(recorder);
        var spec = baseline ? BaselineDemoTests.SpecFor(mesh) : SandboxDemoTests.SpecFor(mesh);

        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.True(scheduled, "the rollout reached 50%");
        Assert.Equal(2, largestCanaryAtHalfBeforeScaling);
        Assert.True(followedAtHalf, "while the route still said 50%, the canary (and baseline) ran 8 pods for stable's 16");
        Assert.Contains(recorder.Events.OfType<VerboseEvent>(), e => e.Text.Contains("resized to follow stable's replica count: Deployment shop-canary from 2 to 8 replicas", StringComparison.Ordinal));
    }
}
