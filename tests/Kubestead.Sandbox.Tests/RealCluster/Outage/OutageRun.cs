using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>One outage of the API server: how it starts, how long it lasts, how it ends.</summary>
internal sealed record ApiServerOutage(string Name, TimeSpan Lasting, Func<Task> Begin, Func<Task> End);

/// <summary>
/// The flow every outage test shares: a driver holds the canary at 20% on a private server (through a faulting proxy
/// when the outage needs one), the outage lasts while the driver must write the next weight, and the rollout must end
/// as it would have without it.
/// </summary>
internal static class OutageRun
{
    public static async Task CompletesThroughAsync(
        bool throughProxy,
        Func<OutageWorld, FaultingApiProxy?, ApiServerOutage> outageOf,
        TimeSpan finishWithin,
        Action<OutageWorld, FaultingApiProxy?> alsoAssert)
    {
        await using var world = await OutageWorld.CreateAsync();
        await using var proxy = throughProxy ? new FaultingApiProxy(world.Server.Url, world.Server.CaFile) : null;
        var driving = world.StartAsync(world.Driver(proxy));
        await world.WaitForCanaryShareAsync(driving);

        var outage = outageOf(world, proxy);
        await outage.Begin();
        try
        {
            await Task.Delay(outage.Lasting);
            Assert.False(driving.IsCompleted, $"the driver gave up during the {outage.Name}");
        }
        finally
        {
            // Even when the driver gave up: a stalled server or cut proxy would otherwise hang the clean-up.
            await outage.End();
        }

        var result = await OutageWorld.FinishAsync(driving, finishWithin);
        alsoAssert(world, proxy);
        await EndsAsItWouldHaveAsync(world, result);
    }

    private static async Task EndsAsItWouldHaveAsync(OutageWorld world, RolloutResult result)
    {
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.DoesNotContain(result.History, h => h.Message.Contains("undone", StringComparison.OrdinalIgnoreCase));
        var stable = await world.Admin.GetAsync(ResourceType.Deployment, world.Namespace, "reviews");
        Assert.Equal(MeshFixtures.CanaryImage, stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}
