using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue 26 item 1: the API server stops answering after a started rollout moved traffic. The start must not be undone
/// in the middle of its analysis (only the recorded state can prove traffic never moved), must not be called Failed,
/// and the error must say what is left and what to run.
/// </summary>
public class OutageStartTests
{
    private sealed class OnFirstCanaryWeight(Action act) : IRolloutObserver
    {
        private int _fired;

        public void OnEvent(RolloutEvent e)
        {
            if (e is WeightAppliedEvent { CanaryPercent: > 0 } && Interlocked.Exchange(ref _fired, 1) == 0) act();
        }
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("smi")]
    public async Task When_the_state_cannot_be_read_after_traffic_moved_the_start_is_left_as_it_is_and_the_error_says_so(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        // From the first canary weight on, every read of the rollout's state fails as against a server that went away.
        await using var svc = env.CreateService(new OnFirstCanaryWeight(() =>
            env.Cluster.InjectFault("GET", "configmaps", RolloutStateStore.ObjectName("shop"), count: 1_000_000, status: 503)));

        var e = await Assert.ThrowsAsync<StartStateUnknownException>(() =>
            Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true)));

        Assert.Equal(KubesteadErrorKind.Unavailable, e.Kind);
        Assert.Contains("nothing was undone and nothing was marked Failed", e.Message);
        Assert.Contains("kubestead wait shop -n shop", e.Message);
        Assert.DoesNotContain("recorded as Failed", e.Message);
        Assert.DoesNotContain("start undone", e.Message);
        // Nothing was taken back: the canary Deployment and the state are still there, and the state is not Failed.
        Assert.NotNull(env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        var state = env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.ConfigMap, ShopFixture.Namespace, RolloutStateStore.ObjectName("shop"));
        var status = System.Text.Json.Nodes.JsonNode.Parse(state!["data"]![RolloutStateStore.StatusKey]!.GetValue<string>())!;
        Assert.NotEqual("Failed", status["phase"]?.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        Assert.True(status["canaryWeight"]?.GetValue<double>() > 0, status.ToJsonString());
        Assert.DoesNotContain(env.Cluster.Writes, w => w.StartsWith("DELETE", StringComparison.Ordinal));
    }
}
