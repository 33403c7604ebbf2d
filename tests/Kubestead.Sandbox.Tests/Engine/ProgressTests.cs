using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Waits report enough for a progress bar to fill: time for timed steps, requests for an analysis until a verdict.</summary>
public class ProgressTests
{
    private sealed class Recorder : IRolloutObserver
    {
        public List<WaitingEvent> Waits { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            if (e is WaitingEvent w) lock (Waits) Waits.Add(w);
        }
    }

    private static async Task<List<WaitingEvent>> WaitsOfTheDemoAsync()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var recorder = new Recorder();
        await using var svc = env.CreateService(recorder);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        return recorder.Waits;
    }

    [Theory]
    [InlineData("pause 2m", 120)]
    [InlineData("analysis for 5m", 300)]
    public async Task Timed_steps_report_elapsed_and_remaining_time_and_a_filling_percentage(string step, int seconds)
    {
        var waits = (await WaitsOfTheDemoAsync()).Where(w => w.Activity.EndsWith(step, StringComparison.Ordinal)).ToList();
        Assert.True(waits.Count >= 2, $"expected several waits in '{step}'");
        foreach (var w in waits)
        {
            Assert.NotNull(w.Remaining);
            Assert.Equal(seconds, (w.Elapsed + w.Remaining!.Value).TotalSeconds, precision: 0);
            Assert.Equal(w.SecondsRemaining, (int)Math.Ceiling(w.Remaining.Value.TotalSeconds));
            Assert.Equal((int)(100 * w.Elapsed.TotalSeconds / seconds), w.PercentComplete);
            Assert.Contains(" left", w.Message);
        }
        Assert.Equal(0, waits[0].PercentComplete);
        Assert.True(waits[^1].PercentComplete > 50, "the last wait of a step is well past half");
        Assert.Equal(waits.Select(w => w.PercentComplete), waits.Select(w => w.PercentComplete).Order());
    }

    [Fact]
    public async Task An_analysis_until_verdict_reports_canary_requests_against_the_planners_estimate()
    {
        var waits = (await WaitsOfTheDemoAsync()).Where(w => w.Activity.Contains("analysis until verdict", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(waits);
        foreach (var w in waits)
        {
            Assert.NotNull(w.CanaryRequestsNeeded);
            Assert.InRange(w.CanaryRequestsNeeded!.Value, 100, 100_000);
            Assert.NotNull(w.CanaryRequests);
            Assert.Equal((int)Math.Clamp(100.0 * w.CanaryRequests!.Value / w.CanaryRequestsNeeded.Value, 0, 99), w.PercentComplete);
            Assert.Contains($"canary requests {w.CanaryRequests} of ~{w.CanaryRequestsNeeded}", w.Message);
        }
        // Requests accumulate while the step waits for its verdict.
        var firstStep = waits.TakeWhile(w => w.Activity == waits[0].Activity).ToList();
        Assert.True(firstStep[^1].CanaryRequests > firstStep[0].CanaryRequests);
    }

    [Fact]
    public void Waits_without_a_fixed_end_or_an_estimate_have_no_percentage()
    {
        var w = new WaitingEvent(DateTimeOffset.UnixEpoch, "ns", "r", "analysis until verdict", TimeSpan.FromSeconds(30), null);
        Assert.Null(w.PercentComplete);
        Assert.Null(w.SecondsRemaining);
        Assert.EndsWith("0:30 elapsed", w.Message);
    }
}
