using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #26 item 6: a canary whose pods never become ready (CrashLoopBackOff, ImagePullBackOff) has failed, with every
/// mesh and at every step: once spec.progressDeadline passes the rollout is aborted (traffic to stable, canary removed)
/// with one message naming the Deployment and the pods' reason, instead of an error that leaves it undriven.
/// </summary>
public class CanaryNeverReadyTests
{
    private static string SpecWithDeadline(string mesh) =>
        SandboxDemoTests.SpecFor(mesh).Replace("\nspec:\n", "\nspec:\n  progressDeadline: 3m\n", StringComparison.Ordinal);

    private static async Task<(RolloutResult Result, RecordingObserver Events, TimeSpan Took)> RunAsync(SandboxEnvironment env, string mesh)
    {
        var recorder = new RecordingObserver();
        await using var service = env.CreateService(recorder);
        var start = env.Clock.GetUtcNow();
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = SpecWithDeadline(mesh) }, wait: true));
        return (result, recorder, env.Clock.GetUtcNow() - start);
    }

    private static void AssertFailedAndCleanedUp(SandboxEnvironment env, RolloutResult result, RecordingObserver events, string reason)
    {
        Assert.True(result.Phase == RolloutPhase.Aborted, $"ended {result.Phase}: {result.Message}");
        Assert.Contains("Deployment shop-canary", result.Message);
        Assert.Contains(reason, result.Message);
        // examples/sandbox/none.yaml keeps the older none.readyTimeout (2m), which wins over progressDeadline there.
        Assert.Contains($"progress deadline of {(env.Mesh == "none" ? "2m" : "3m")}", result.Message);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        Assert.Equal(0, ShopFixture.Reader(env.Cluster, env.Mesh, env.Namerd)().CanaryShare);
        // One story: nothing says the rollout was left as it was to be resumed.
        lock (events.Events) Assert.DoesNotContain(events.Events, e => e.Message.Contains("can be resumed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("istio", "CrashLoopBackOff")]
    [InlineData("linkerd", "ImagePullBackOff")]
    [InlineData("smi", "CrashLoopBackOff")]
    [InlineData("nginx", "ImagePullBackOff")]
    [InlineData("linkerd1", "CrashLoopBackOff")]
    [InlineData("none", "ImagePullBackOff")]
    public async Task A_canary_that_never_becomes_ready_is_aborted_at_the_progress_deadline(string mesh, string reason)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        env.Cluster.BreakPods(ShopFixture.Namespace, "shop-canary", reason);
        var (result, events, took) = await RunAsync(env, mesh);
        AssertFailedAndCleanedUp(env, result, events, reason);
        Assert.Contains("pod shop-canary-0", result.Message);
        Assert.True(took < TimeSpan.FromMinutes(5), $"took {took} of sandbox time");
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("none")]
    public async Task A_canary_whose_new_pods_crash_at_a_later_step_is_aborted(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var broken = false;
        env.Cluster.Changed += (type, obj, _) =>
        {
            // Once the canary's first pods are ready (it then serves its first step), every pod added later crashes.
            if (broken || type != ResourceType.Deployment || obj?["metadata"]?["name"]?.GetValue<string>() != "shop-canary"
                || obj["status"]?["readyReplicas"]?.GetValue<int>() is not > 0) return;
            broken = true;
            env.Cluster.BreakPods(ShopFixture.Namespace, "shop-canary", "CrashLoopBackOff");
        };
        var (result, events, _) = await RunAsync(env, mesh);
        Assert.True(broken, "the canary never became ready before the fault");
        AssertFailedAndCleanedUp(env, result, events, "CrashLoopBackOff");
        Assert.Contains(result.History, h => h.Kind == "setWeight" && h.CanaryWeight > 0);
    }
}
