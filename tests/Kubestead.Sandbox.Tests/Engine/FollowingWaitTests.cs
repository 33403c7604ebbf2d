using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Controller;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #26 item 11: a wait on a rollout another live driver holds follows it. Here the other driver is the test itself
/// (it holds the Lease for an hour and writes the state as a driver would), and the waiter runs on a clock the test
/// moves by hand, so every look happens exactly when the test says and nothing depends on the machine's speed. The
/// wall-clock version with two real processes is the CLI's WatchingWaitRealServerTests.
/// </summary>
public class FollowingWaitTests
{
    private const string Ns = ShopFixture.Namespace;
    private const string Name = "shop";

    /// <summary>A metrics source that counts the scrape-interval reads (a Prometheus /api/v1/targets each).</summary>
    private sealed class CountingScrapeSource(MetricWindowQuery inner, Action counted) : IScrapeIntervalSource
    {
        public Task<MetricWindow> QueryAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => inner(start, end, ct);

        public Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct)
        {
            counted();
            return Task.FromResult(new ScrapeIntervalReading(TimeSpan.FromSeconds(10), "scraped every 10s"));
        }
    }

    private static Verdict Pass(long requests) =>
        new("sequential", "error-rate", VerdictOutcome.Pass, requests, 0, requests, 0, null, null, 25, null, $"no worse over {requests} canary requests");

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"not within 60 s: {what}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_wait_on_a_rollout_a_live_driver_holds_reports_each_change_once_writes_nothing_and_ends_with_it()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using (var starter = env.CreateService(NullRolloutObserver.Instance, "starter"))
            await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var driver = new DriverIdentity("other", "sandbox", null, "other");
        await RolloutLease.AcquireAsync(env.Cluster, env.Clock, Ns, Name, driver, TimeSpan.FromHours(1));
        var store = new RolloutStateStore(env.Cluster);
        async Task DriveAsync(Func<RolloutStatus, RolloutStatus> change) => await store.UpdateAsync(Ns, Name, change, env.Clock);

        var clock = new VirtualClock(env.Clock.GetUtcNow());
        var seen = new RecordingObserver();
        var scrapeReads = 0;
        var api = new FreezableApi(env.Cluster) { Clock = clock };
        var metrics = env.Traffic.Metrics;
        var waiter = new KubesteadService(api, new KubesteadServiceOptions
        {
            Clock = clock,
            Observer = seen,
            Driver = new DriverIdentity("waiter", "sandbox", null, "waiter"),
            Metrics = (spec, metric) => new CountingScrapeSource(metrics(spec, metric), () => Interlocked.Increment(ref scrapeReads)).QueryAsync,
            RecordEvents = true,
        });
        List<string> Lines()
        {
            lock (seen.Events) return seen.Events.Where(e => e is not (WaitingEvent or ApiRequestEvent)).Select(e => e.Message).ToList();
        }
        int Reads(string what) => api.Requests.GetValueOrDefault(what);
        async Task<List<string>> LookAsync()
        {
            // One look: its 2 s delay ends (advanced until it does: the delay may not be armed yet), it reads the state,
            // reports, then reads the Lease (after everything it had to say) and waits again.
            var before = Lines().Count;
            var (states, leases) = (Reads("get configmaps"), Reads("get leases"));
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Reads("get configmaps") == states)
            {
                Assert.True(DateTime.UtcNow < until, "no look within 60 s");
                clock.Advance(TimeSpan.FromSeconds(2));
                await Task.Delay(10);
            }
            await UntilAsync(() => Reads("get leases") > leases, "the look's Lease read");
            return Lines().Skip(before).ToList();
        }

        var waiting = Task.Run(() => waiter.WaitAsync(Ns, Name, null));
        await UntilAsync(() => Lines().Any(l => l.Contains("is driven by other@", StringComparison.Ordinal)), "the follow");
        Assert.Single(Lines(), l => l.StartsWith("step 1/9: setHeaderRoute testers", StringComparison.Ordinal));

        // Unchanged: nothing new to say, however often it looks.
        Assert.Empty(await LookAsync());
        Assert.Empty(await LookAsync());

        // The driver set the route and the first weight, and began the analysis: each step once, in order, and the split.
        var at = env.Clock.GetUtcNow();
        await DriveAsync(s => s with { StepIndex = 2, CanaryWeight = 5, LastWritten = new WrittenSplit(95, 5, at, driver.ToString()) });
        Assert.Equal(["step 2/9: setWeight 5%", "step 3/9: analysis until verdict (at most 10m)", $"traffic: stable 95% / canary 5% (written by {driver})"],
            await LookAsync());
        Assert.Empty(await LookAsync());

        // A verdict, then the next step.
        await DriveAsync(s => s with { LastVerdicts = [Pass(400)] });
        Assert.Equal(["error-rate: Pass - no worse over 400 canary requests"], await LookAsync());
        await DriveAsync(s => s with { StepIndex = 3 });
        Assert.Equal(["step 4/9: setWeight 25%"], await LookAsync());

        // The end: the wait returns what the driver recorded.
        await DriveAsync(s => s with { Phase = RolloutPhase.Completed, CleanupDone = true, Message = "promoted" });
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!waiting.IsCompleted && DateTime.UtcNow < until)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            await Task.Delay(10);
        }
        var done = await waiting.WaitAsync(TimeSpan.FromSeconds(1));
        // Events still queued are written (or not) by now.
        await waiter.DisposeAsync();

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        // The wait itself is told once per step it waits at (not at every look: the cmdlets mirror waits to verbose).
        List<string> waits;
        lock (seen.Events) waits = seen.Events.OfType<WaitingEvent>().Select(w => w.Activity).ToList();
        Assert.Equal(["step 1/9, driven by " + driver, "step 3/9, driven by " + driver, "step 4/9, driven by " + driver], waits);
        Assert.Single(Lines(), l => l == "phase Completed: promoted");
        Assert.Empty(api.Writes);
        Assert.Equal(1, scrapeReads);
    }
}
