using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>An abort interrupted at each of its writes in turn, and the next abort that must finish what it left.</summary>
internal static class AbortInterruptions
{
    /// <summary>
    /// For write n = 1..<paramref name="writes"/>: a fresh <paramref name="setup"/>, an abort whose n-th write fails
    /// (before it applies, or after: a lost answer, alternately), a Lease held at the failure left to lapse, then another
    /// abort, whose result <paramref name="check"/> judges.
    /// </summary>
    /// <param name="specFile">The spec both aborts are given (abort --file), as a user repeating the command would.</param>
    public static async Task EachWriteAsync(Func<Task<SandboxEnvironment>> setup, int writes, bool waitForCleanup, Action<SandboxEnvironment, int, RolloutResult> check,
        SpecFile? specFile = null)
    {
        for (var n = 1; n <= writes; n++)
        {
            var env = await setup();
            env.Cluster.FailWriteNumber(n, afterApply: n % 2 == 0);
            await using (var next = env.CreateService(NullRolloutObserver.Instance, "next"))
            {
                try
                {
                    await Task.Run(() => next.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup, specFile));
                }
                catch (Exception e) when (e is KubernetesApiException or KubesteadException)
                {
                    // interrupted at write n
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(61), env.Clock);
            await using var last = env.CreateService(NullRolloutObserver.Instance, "last");
            check(env, n, await Task.Run(() => last.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup, specFile)));
        }
    }
}
