using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #29 at drive time: the control's history is read once per rollout when its analysis begins (said once as a
/// verbose line, or as a warning when it cannot be read, and the rollout goes on); a resume by another process reads none.
/// </summary>
public class ControlHistoryDriveTests
{
    /// <summary>The sandbox's simulated windows, from a source that also serves (or fails) the control's history.</summary>
    private sealed class HistorySource(MetricWindowQuery inner, Exception? failure, List<(DateTimeOffset End, TimeSpan Interval, int Windows)> reads) : IControlHistory
    {
        public Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => inner(start, end, ct);

        public Task<IReadOnlyList<MetricWindow>> ControlHistoryAsync(DateTimeOffset end, TimeSpan interval, int windows, CancellationToken ct)
        {
            lock (reads) reads.Add((end, interval, windows));
            if (failure is not null) throw failure;
            // Totals only, as the sandbox's own windows (its simulator has no per-pod series): what is tested here is when the
            // history is read, not what is learned from it (a history with per-pod counts beside windows without them
            // would hold the judges at the band the history alone gave, for the whole rollout).
            IReadOnlyList<MetricWindow> history = Enumerable.Range(0, windows).Select(i => new MetricWindow(end - interval * (windows - i), end - interval * (windows - i - 1),
                VersionSample.Empty, new VersionSample(200, 2))).ToList();
            return Task.FromResult(history);
        }
    }

    private static KubesteadService Service(SandboxEnvironment env, RecordingObserver recorder, Exception? failure, List<(DateTimeOffset, TimeSpan, int)> reads) =>
        new(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Observer = recorder,
            Driver = new DriverIdentity("t", "sandbox", null, "t"),
            PollInterval = TimeSpan.FromSeconds(30),
            Metrics = (spec, metric) => new HistorySource(env.Traffic.Metrics(spec, metric), failure, reads).WindowAsync,
        });

    /// <summary>The istio demo with a manual pause after its first analysis step and a 10-minute look-back.</summary>
    private static string Spec() => SandboxDemoTests.SpecFor("istio")
        .Replace("        duration: 10m\n    - setWeight: 25\n", "        duration: 10m\n    - pause: {}\n    - setWeight: 25\n", StringComparison.Ordinal)
        .Replace("    interval: 10s\n", "    interval: 10s\n    lookback: 10m\n", StringComparison.Ordinal);

    [Fact]
    public async Task The_history_is_read_once_when_the_analysis_begins_and_a_resume_by_another_process_reads_none()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var reads = new List<(DateTimeOffset, TimeSpan, int)>();
        var recorder = new RecordingObserver();
        RolloutResult paused;
        await using (var first = Service(env, recorder, null, reads))
            paused = await Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = Spec() }, wait: true));
        Assert.True(paused.Phase == RolloutPhase.Paused, $"{paused.Phase}: {paused.Message}");
        var (_, interval, windows) = Assert.Single(reads);
        Assert.Equal((TimeSpan.FromSeconds(10), 60), (interval, windows));
        Assert.Single(recorder.Events, e => e is VerboseEvent v && v.Text.Contains("learned from 60 window(s) of the control's history", StringComparison.Ordinal));

        var resumedBy = new RecordingObserver();
        await using var second = Service(env, resumedBy, null, reads);
        var resumed = await Task.Run(() => second.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.True(resumed.Phase == RolloutPhase.Completed, $"{resumed.Phase}: {resumed.Message}");
        Assert.Single(reads);
        Assert.DoesNotContain(resumedBy.Events, e => e.Message.Contains("control's history", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_history_that_cannot_be_read_is_warned_about_once_and_the_rollout_completes()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var reads = new List<(DateTimeOffset, TimeSpan, int)>();
        var recorder = new RecordingObserver();
        await using var svc = Service(env, recorder, new MetricsUnavailableException("Prometheus at http://prometheus:9090/ answered HTTP 422 Unprocessable Entity: execution: query timed out"), reads);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.Single(reads);
        var warning = Assert.Single(recorder.Events.OfType<WarningEvent>(), w => w.Text.Contains("control's history", StringComparison.Ordinal));
        Assert.Contains("could not be read (Prometheus at http://prometheus:9090/ answered HTTP 422 Unprocessable Entity: execution: query timed out)", warning.Text);
    }
}
