using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Demo;

/// <summary>
/// The report draws the canary's weight from the history: an abort must record when its write sent traffic to stable,
/// or the chart keeps the canary at its last weight until clean-up ends (scaleDownDelay later).
/// </summary>
public class AbortTrafficHistoryTests
{
    private sealed class NoObserver : IRolloutObserver
    {
        public void OnEvent(RolloutEvent e)
        {
        }
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("nginx")]
    [InlineData("none")]
    public async Task The_faulty_demo_records_traffic_to_stable_at_the_abort_before_clean_up_ends(string mesh)
    {
        var result = await SandboxDemo.RunAsync(mesh, "faulty", SandboxDemoTests.SpecFor(mesh), new NoObserver());
        var history = result.Rollout.History;

        var abort = history.Single(h => h.Kind == "abort");
        var written = history.Single(h => h.Kind == RolloutHistoryEntry.TrafficToStableKind);
        var cleanup = history.Single(h => h.Kind == "cleanup");
        Assert.Equal(0, written.CanaryWeight);
        Assert.Equal(abort.At, written.At);
        Assert.True(written.At < cleanup.At, $"traffic to stable at {written.At:HH:mm:ss}, clean-up ended {cleanup.At:HH:mm:ss}");
        // Between the abort and the write no entry claims another weight.
        var i = history.ToList().IndexOf(written);
        Assert.True(history.ToList().IndexOf(abort) < i && i < history.ToList().IndexOf(cleanup));
        Assert.Contains("traffic to stable on ", written.Message, StringComparison.Ordinal);
    }
}
