using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>A pause that interrupts a promotion ends, on resume, in the promotion it interrupted, not in the remaining steps.</summary>
public class PauseDuringPromotionTests
{
    /// <summary>A rollout at 5% (step 2 of 10) whose promotion was requested: the remaining steps are skipped.</summary>
    private static async Task<(SandboxEnvironment Env, KubesteadService Service)> PromotingAtFiveAsync()
    {
        var (env, svc) = await LostObjectsTests.RunningAtAsync("istio", 5);
        var promoting = await Task.Run(() => svc.PromoteAsync(ShopFixture.Namespace, "shop", wait: false));
        Assert.Equal(RolloutPhase.Promoting, promoting.Phase);
        return (env, svc);
    }

    private static void AssertPromotedWithoutLaterSteps(RolloutResult done)
    {
        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase} {done.PauseReason}: {done.Message}");
        Assert.StartsWith("promoted", done.Message, StringComparison.Ordinal);
        // The steps the promotion skipped (25% and 50%) never ran after the resume.
        Assert.DoesNotContain(done.History, h => h.CanaryWeight is 25 or 50);
    }

    [Fact]
    public async Task A_manual_pause_during_promotion_resumes_the_promotion()
    {
        var (_, svc) = await PromotingAtFiveAsync();
        await using var _ = svc;
        Assert.Equal(RolloutPhase.Paused, (await svc.PauseAsync(ShopFixture.Namespace, "shop")).Phase);

        var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: false));
        Assert.Equal(RolloutPhase.Promoting, resumed.Phase);
        AssertPromotedWithoutLaterSteps(await Task.Run(() => svc.WaitAsync(ShopFixture.Namespace, "shop", null)));
    }

    [Fact]
    public async Task A_stable_missing_pause_during_promotion_resumes_the_promotion_once_stable_is_back()
    {
        var (env, svc) = await PromotingAtFiveAsync();
        await using var _ = svc;
        var stable = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        await env.Cluster.DeleteAsync(ResourceType.Deployment, ShopFixture.Namespace, "shop");

        var paused = await Task.Run(() => svc.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.True(paused is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.StableMissing }, $"{paused.Phase} {paused.PauseReason}: {paused.Message}");

        await env.Cluster.CreateAsync(ResourceType.Deployment, ShopFixture.Namespace, LostObjectsTests.Reapplied(stable));
        AssertPromotedWithoutLaterSteps(await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true)));
        Assert.Equal("registry.example.com/shop:2.0.0",
            env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}
