using Kubestead.LoadTests;

namespace Kubestead.Sandbox.Demo;

/// <summary>
/// The sandbox's load test: the simulator gains the synthetic requests on the canary (answered with the canary's
/// behaviour, labelled as the marker header would be) from the moment it starts until it is stopped. It arms no timer:
/// the sandbox's auto-advancing clock must see only the engine's.
/// </summary>
public sealed class SimulatedLoadGenerator(SimulatedTraffic traffic) : ILoadGenerator
{
    public async Task<LoadTestTally> RunAsync(LoadTestRun run, CancellationToken ct)
    {
        traffic.CatchUp();
        var (before, beforeFailures) = traffic.Simulator.AllSyntheticTotals();
        traffic.SetSyntheticRate(run.Spec.RequestsPerSecond, run.Spec.Control is null ? 0 : run.Spec.RequestsPerSecond, run.Spec.MetricLabel, run.Rollout);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Started and stopped synchronously with the engine's events (a cancellation callback runs on Cancel's thread),
        // so the synthetic requests begin and end at the same virtual instants however busy the machine is.
        await using (ct.Register(() =>
        {
            traffic.SetSyntheticRate(0, 0, run.Spec.MetricLabel, run.Rollout);
            stopped.TrySetResult();
        }))
            await stopped.Task.ConfigureAwait(false);
        var (after, afterFailures) = traffic.Simulator.AllSyntheticTotals();
        return new LoadTestTally(after - before, after - before, afterFailures - beforeFailures, 0);
    }
}
