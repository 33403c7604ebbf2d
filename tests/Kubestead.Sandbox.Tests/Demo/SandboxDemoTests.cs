using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.Demo;

public class SandboxDemoTests(ITestOutputHelper output)
{
    private sealed class Recorder(ITestOutputHelper output) : IRolloutObserver
    {
        public List<RolloutEvent> Events { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Events) Events.Add(e);
            if (e is not WaitingEvent) output.WriteLine($"{e.At:HH:mm:ss} {e.Message}");
        }
    }

    internal static string SpecFor(string mesh) =>
        File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", $"{mesh}.yaml"));

    [Theory]
    [InlineData("istio", "healthy", RolloutPhase.Completed)]
    [InlineData("istio", "faulty", RolloutPhase.Aborted)]
    [InlineData("istio", "low-traffic", RolloutPhase.Paused)]
    [InlineData("linkerd", "healthy", RolloutPhase.Completed)]
    [InlineData("linkerd", "faulty", RolloutPhase.Aborted)]
    [InlineData("linkerd", "low-traffic", RolloutPhase.Paused)]
    [InlineData("smi", "healthy", RolloutPhase.Completed)]
    [InlineData("smi", "faulty", RolloutPhase.Aborted)]
    [InlineData("smi", "low-traffic", RolloutPhase.Paused)]
    [InlineData("none", "healthy", RolloutPhase.Completed)]
    [InlineData("none", "faulty", RolloutPhase.Aborted)]
    [InlineData("none", "low-traffic", RolloutPhase.Paused)]
    [InlineData("nginx", "healthy", RolloutPhase.Completed)]
    [InlineData("nginx", "faulty", RolloutPhase.Aborted)]
    [InlineData("nginx", "low-traffic", RolloutPhase.Paused)]
    [InlineData("linkerd1", "healthy", RolloutPhase.Completed)]
    [InlineData("linkerd1", "faulty", RolloutPhase.Aborted)]
    [InlineData("linkerd1", "low-traffic", RolloutPhase.Paused)]
    public async Task Demo_ends_in_the_scenarios_phase(string mesh, string scenario, RolloutPhase expected)
    {
        var recorder = new Recorder(output);
        var result = await SandboxDemo.RunAsync(mesh, scenario, SpecFor(mesh), recorder);
        output.WriteLine($"=> {result.Rollout.Phase} {result.Rollout.PauseReason} {result.Rollout.Message}; canary {result.CanaryRequests} req / {result.CanaryFailures} failed; {result.SimulatedDuration}");
        Assert.Equal(expected, result.Rollout.Phase);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.InsufficientData, result.Rollout.PauseReason);
            Assert.DoesNotContain(recorder.Events, e => e is PhaseChangedEvent { Phase: RolloutPhase.Completed or RolloutPhase.Promoting });
        }
        if (expected == RolloutPhase.Aborted)
        {
            Assert.Equal(0, result.Rollout.CanaryWeight);
            Assert.True(result.CanaryFailures <= 30, $"blast radius {result.CanaryFailures} failed canary requests");
        }
        if (expected == RolloutPhase.Completed) Assert.Equal(0, result.Rollout.CanaryWeight);
    }
}
