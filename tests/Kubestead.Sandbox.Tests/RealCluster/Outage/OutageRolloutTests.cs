using Kubestead.Kubernetes;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

// Issue 26 item 1 on the real kube-apiserver: each outage a managed control plane goes through during an upgrade, while
// a rollout's driver holds the canary at 20% and must write the next weight during the outage. Each class has its own
// server, so xUnit runs the three in parallel; each lasts about its outage plus half a minute.

internal static class OutageAssertions
{
    public static async Task EndsAsItWouldHaveAsync(OutageWorld world, Kubestead.Rollouts.RolloutResult result)
    {
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.DoesNotContain(result.History, h => h.Message.Contains("undone", StringComparison.OrdinalIgnoreCase));
        var stable = await world.Admin.GetAsync(ResourceType.Deployment, world.Namespace, "reviews");
        Assert.Equal(MeshFixtures.CanaryImage, stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}

public class ApiServerRestartOutageTests
{
    [RealClusterFact]
    public async Task A_rollout_survives_a_60_second_api_server_restart_and_completes()
    {
        await using var world = await OutageWorld.CreateAsync();
        await using var proxy = new FaultingApiProxy(world.Server.Url, world.Server.CaFile);
        var driving = world.StartAsync(world.Driver(proxy));
        await world.WaitForCanaryShareAsync(driving);

        proxy.Cut(); // connections reset, new ones refused: the server is restarting
        await Task.Delay(TimeSpan.FromSeconds(60));
        Assert.False(driving.IsCompleted, "the driver gave up during the outage");
        proxy.Restore();

        var result = await OutageWorld.FinishAsync(driving, TimeSpan.FromMinutes(1));
        Assert.True(world.FailedDriverRequests > 0, "the driver never met the outage");
        await OutageAssertions.EndsAsItWouldHaveAsync(world, result);
    }
}

public class ApiServerThrottlingOutageTests
{
    [RealClusterFact]
    public async Task A_rollout_survives_60_seconds_of_429_with_retry_after_and_completes()
    {
        await using var world = await OutageWorld.CreateAsync();
        await using var proxy = new FaultingApiProxy(world.Server.Url, world.Server.CaFile);
        var driving = world.StartAsync(world.Driver(proxy));
        await world.WaitForCanaryShareAsync(driving);

        proxy.Throttle(retryAfterSeconds: 5);
        await Task.Delay(TimeSpan.FromSeconds(60));
        Assert.False(driving.IsCompleted, "the driver gave up during the throttling");
        proxy.Throttle(0);

        var result = await OutageWorld.FinishAsync(driving, TimeSpan.FromMinutes(1));
        // Retry-After 5 s is honoured: about 12 requests a minute per waiting call, not a flood.
        Assert.InRange(proxy.Throttled, 5, 60);
        await OutageAssertions.EndsAsItWouldHaveAsync(world, result);
    }
}

public class ApiServerStallOutageTests
{
    [RealClusterFact]
    public async Task A_rollout_survives_a_90_second_stall_of_the_api_server_process_and_completes()
    {
        await using var world = await OutageWorld.CreateAsync();
        var driving = world.StartAsync(world.Driver());
        await world.WaitForCanaryShareAsync(driving);

        await world.Server.StallAsync(); // SIGSTOP: connections are accepted by the kernel, nothing answers
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(90));
            Assert.False(driving.IsCompleted, "the driver gave up during the stall");
        }
        finally
        {
            await world.Server.ContinueAsync();
        }

        var result = await OutageWorld.FinishAsync(driving, TimeSpan.FromMinutes(2));
        lock (world.DriverRequests)
            Assert.True(world.DriverRequests.Count > 0);
        await OutageAssertions.EndsAsItWouldHaveAsync(world, result);
    }
}
