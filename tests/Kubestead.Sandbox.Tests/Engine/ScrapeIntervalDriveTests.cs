using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #29 item 4 at drive time: a spec without <c>analysis.interval</c> or <c>scrapeInterval</c> runs its windows
/// at the scrape interval its metric source reports, read once per drive; a source that cannot say keeps the default.
/// </summary>
public class ScrapeIntervalDriveTests
{
    /// <summary>The sandbox's simulated windows, from a source that reports <see cref="Interval"/> as its scrape interval.</summary>
    private sealed class ReportingSource(MetricWindowQuery inner, TimeSpan? interval, List<TimeSpan> windows) : IScrapeIntervalSource
    {
        public int Reads;

        public Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref Reads);
            return Task.FromResult(new ScrapeIntervalReading(interval, interval is null ? "the endpoint answered HTTP 404" : "the test's targets"));
        }

        public Task<MetricWindow> WindowAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
        {
            lock (windows) windows.Add(end - start);
            return inner(start, end, ct);
        }
    }

    private static async Task<(RolloutResult Result, List<TimeSpan> Windows, RecordingObserver Recorder, List<ReportingSource> Sources)> DriveAsync(TimeSpan? scrape)
    {
        var windows = new List<TimeSpan>();
        var sources = new List<ReportingSource>();
        var env = SandboxEnvironment.Create("istio", "healthy");
        var recorder = new RecordingObserver();
        await using var svc = new KubesteadService(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Observer = recorder,
            Driver = new DriverIdentity("t", "sandbox", null, "t"),
            PollInterval = TimeSpan.FromSeconds(30),
            Metrics = (spec, metric) =>
            {
                var source = new ReportingSource(env.Traffic.Metrics(spec, metric), scrape, windows);
                lock (sources) sources.Add(source);
                return source.WindowAsync;
            },
        });
        var spec = SandboxDemoTests.SpecFor("istio").Replace("    interval: 10s\n", "");
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        return (result, windows, recorder, sources);
    }

    [Fact]
    public async Task A_spec_without_an_interval_runs_its_windows_at_the_reported_scrape_interval()
    {
        var (result, windows, recorder, sources) = await DriveAsync(TimeSpan.FromSeconds(15));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.NotEmpty(windows);
        // Windows end early only at weight writes; none is longer than the scrape interval (the parser's default is 1m).
        Assert.Equal(TimeSpan.FromSeconds(15), windows.Max());
        Assert.Contains(recorder.Events, e => e is VerboseEvent v && v.Text.Contains("the analysis interval is 15s", StringComparison.Ordinal));
        // Read once per drive (one start drives once), not once per window.
        Assert.Equal(1, sources.Sum(s => s.Reads));
    }

    [Fact]
    public async Task A_source_that_cannot_say_keeps_the_default_interval_and_says_why()
    {
        var (_, windows, recorder, _) = await DriveAsync(null);
        Assert.Equal(TimeSpan.FromMinutes(1), windows.Max());
        Assert.Contains(recorder.Events, e => e is VerboseEvent v && v.Text.Contains("HTTP 404", StringComparison.Ordinal));
        Assert.Contains(recorder.Events, e => e is VerboseEvent v && v.Text.Contains("the analysis interval stays 1m", StringComparison.Ordinal));
    }
}
