using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Traffic;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Issue #25 item 2 on the real kube-apiserver: with a mesh (SMI here), stable scaled 4 -> 16 through its scale
/// subresource, as the HPA controller writes it, while 50% holds: the canary follows to 8 pods without waiting for a
/// step (within the 20 s pause), and <c>validate --cluster</c> names the autoscaler.
/// </summary>
public class CanaryFollowsStableRealClusterTests
{
    private static JsonObject Hpa() => JsonNode.Parse("""
        {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"payments"},
         "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"payments"},"minReplicas":4,"maxReplicas":20,
                 "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}}
        """)!.AsObject();

    private static async Task<int> ReplicasAsync(RealRolloutEnvironment env, string name) =>
        (await env.GetAsync(ResourceType.Deployment, name))["spec"]?["replicas"]?.GetValue<int>() ?? 0;

    [RealClusterFact]
    public async Task Stable_scaled_by_its_autoscaler_while_a_weight_holds_resizes_the_canary()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("hpa-smi");
        var objects = MeshFixtures.SmiObjects();
        objects[0].Item2["spec"]!["replicas"] = 4;
        await env.SeedAsync(objects);
        await env.Admin.CreateAsync(HpaGuard.HorizontalPodAutoscaler, env.Namespace, Hpa());
        var spec = MeshFixtures.SmiSpec(env.Namespace).Replace(MeshFixtures.Steps, """
              steps:
                - setWeight: 50
                - pause: { duration: 20s }
            """);
        Assert.Contains("duration: 20s", spec);
        await using var service = new KubesteadService(await RealCluster.ConnectAsync(RealCluster.Admin, env.Namespace), new KubesteadServiceOptions
        {
            Clock = TimeProvider.System,
            Driver = new DriverIdentity("hpa-test", "realcluster-test", null, "hpa-test"),
            PollInterval = TimeSpan.FromMilliseconds(200),
        });

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.Contains(check.Checks, c => c.Check == "autoscaler" && c.Message.StartsWith("HorizontalPodAutoscaler payments scales Deployment payments (4 to 20 replicas)", StringComparison.Ordinal));

        var run = Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!run.IsCompleted && DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await service.GetAsync(env.Namespace, "payments")) is { StepIndex: 1, CanaryWeight: 50 }) break;
            }
            catch (RolloutNotFoundException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Equal(2, await ReplicasAsync(env, "payments-canary"));

        await env.Admin.PatchSubresourceAsync(ResourceType.Deployment, env.Namespace, "payments", "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 16 } }));
        for (var i = 0; i < 150 && await ReplicasAsync(env, "payments-canary") != 8; i++) await Task.Delay(200);
        Assert.Equal(8, await ReplicasAsync(env, "payments-canary"));
        var status = await service.GetAsync(env.Namespace, "payments");
        Assert.Equal(RolloutPhase.Progressing, status.Phase);
        Assert.Equal(50, status.CanaryWeight);

        var end = await run.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(RolloutPhase.Completed, end.Phase);
        Assert.Equal(16, await ReplicasAsync(env, "payments"));
    }
}
