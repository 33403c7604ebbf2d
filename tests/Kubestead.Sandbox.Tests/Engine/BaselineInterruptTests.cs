using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// A driver killed inside any write of a rollout with a created baseline (the subset, the destination or backend, the
/// baseline Service and Deployment, every three-way weight write, every clean-up write): another driver resumes to the
/// same end, or an abort converges; either way no baseline object is left (issue #13 item 5).
/// </summary>
public class BaselineInterruptTests
{
    [Theory]
    [InlineData("istio")]
    [InlineData("smi")]
    [InlineData("none")]
    public async Task A_driver_killed_inside_any_write_is_resumed_or_aborted_and_no_baseline_is_left(string mesh)
    {
        var writes = await DriverKills.WritesOfACleanRunAsync(mesh, BaselineDemoTests.SpecFor(mesh));
        Assert.True(writes.Count > 10, $"a clean {mesh} rollout made only {writes.Count} writes");
        var baselineWrites = 0;
        for (var n = 1; n <= writes.Count; n++)
        {
            var touchesBaseline = writes[n - 1].Contains("baseline", StringComparison.Ordinal) || writes[n - 1].Contains("destinationrules", StringComparison.Ordinal)
                                  || writes[n - 1].Contains("virtualservices", StringComparison.Ordinal) || writes[n - 1].Contains("trafficsplits", StringComparison.Ordinal);
            if (touchesBaseline) baselineWrites++;
            // Every write is killed once; the afterApply side and resume-or-abort alternate, both always for the baseline's own writes.
            var modes = touchesBaseline ? new[] { (false, false), (true, true) } : [(n % 2 == 1, n % 3 == 0)];
            foreach (var (afterApply, abort) in modes)
            {
                var env = SandboxEnvironment.Create(mesh, "healthy");
                env.Cluster.FailWriteNumber(n, afterApply);
                await DriverKills.FirstDriverDiesAsync(env, BaselineDemoTests.SpecFor(mesh));
                await using var second = await DriverKills.SecondDriverAsync(env);
                var context = $"{mesh}, killed at write {n} of {writes.Count} ({writes[n - 1]}, {(afterApply ? "after" : "before")} it applied), then {(abort ? "abort" : "resume")}";
                var exists = env.Cluster.Peek(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop") is not null;
                RolloutResult result;
                if (!exists)
                    result = await Task.Run(() => second.StartAsync(new StartRequest { SpecYaml = BaselineDemoTests.SpecFor(mesh) }, wait: true));
                else if (abort)
                    result = await Task.Run(() => second.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true));
                else
                    result = await Task.Run(() => second.WaitAsync(ShopFixture.Namespace, "shop", null));
                var expected = exists && abort ? new[] { RolloutPhase.Aborted, RolloutPhase.Completed } : [RolloutPhase.Completed];
                Assert.True(expected.Contains(result.Phase), $"{context}: ended {result.Phase} {result.PauseReason}: {result.Message}");
                Assert.True(ShopFixture.BaselineLeftovers(env.Cluster).Count == 0, $"{context}: left {string.Join(", ", ShopFixture.BaselineLeftovers(env.Cluster))}");
                Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
            }
        }
        Assert.True(baselineWrites >= 4, $"only {baselineWrites} writes touched the baseline or its routing");
    }
}
