namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

// Issue 26 item 1 on the real kube-apiserver: each outage a managed control plane goes through during an upgrade, while
// a rollout's driver holds the canary at 20% and must write the next weight during the outage. Each class has its own
// server, so xUnit runs the three in parallel; each lasts about its outage plus half a minute. The finish bounds only
// catch a hung driver: they are generous because CI runs them on a loaded machine.

public class ApiServerRestartOutageTests
{
    [RealClusterFact]
    public Task A_rollout_survives_a_60_second_api_server_restart_and_completes() =>
        OutageRun.CompletesThroughAsync(
            throughProxy: true,
            (_, proxy) => new ApiServerOutage("outage", TimeSpan.FromSeconds(60),
                // Connections reset, new ones refused: the server is restarting.
                Begin: () => { proxy!.Cut(); return Task.CompletedTask; },
                End: () => { proxy!.Restore(); return Task.CompletedTask; }),
            finishWithin: TimeSpan.FromMinutes(3),
            (world, _) => Assert.True(world.FailedDriverRequests > 0, "the driver never met the outage"));
}

public class ApiServerThrottlingOutageTests
{
    [RealClusterFact]
    public Task A_rollout_survives_60_seconds_of_429_with_retry_after_and_completes() =>
        OutageRun.CompletesThroughAsync(
            throughProxy: true,
            (_, proxy) => new ApiServerOutage("throttling", TimeSpan.FromSeconds(60),
                Begin: () => { proxy!.Throttle(retryAfterSeconds: 5); return Task.CompletedTask; },
                End: () => { proxy!.Throttle(0); return Task.CompletedTask; }),
            finishWithin: TimeSpan.FromMinutes(3),
            // Retry-After 5 s is honoured: about 12 requests a minute per waiting call, not a flood.
            (_, proxy) => Assert.InRange(proxy!.Throttled, 5, 60));
}

public class ApiServerStallOutageTests
{
    [RealClusterFact]
    public Task A_rollout_survives_a_90_second_stall_of_the_api_server_process_and_completes() =>
        OutageRun.CompletesThroughAsync(
            throughProxy: false,
            // SIGSTOP: connections are accepted by the kernel, nothing answers.
            (world, _) => new ApiServerOutage("stall", TimeSpan.FromSeconds(90), world.Server.StallAsync, world.Server.ContinueAsync),
            finishWithin: TimeSpan.FromMinutes(4),
            (world, _) =>
            {
                lock (world.DriverRequests)
                    Assert.True(world.DriverRequests.Count > 0);
            });
}
