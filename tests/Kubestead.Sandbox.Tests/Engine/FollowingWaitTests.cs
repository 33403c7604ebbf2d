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

    /// <summary>
    /// A rollout started and left to "other", which holds its Lease for an hour (live throughout), and a waiter on its own
    /// hand-moved clock that follows it: its client counts its requests and writes, its metrics its scrape-interval reads.
    /// </summary>
    private sealed class Following
    {
        public required SandboxEnvironment Env { get; init; }
        public required DriverIdentity Driver { get; init; }
        public required VirtualClock Clock { get; init; }
        public required RecordingObserver Seen { get; init; }
        public required FreezableApi Api { get; init; }
        public required KubesteadService Waiter { get; init; }
        public required Task<RolloutResult> Waiting { get; init; }
        public required Func<int> ScrapeReads { get; init; }
        public required DateTimeOffset Started { get; init; }

        /// <summary>What "other" writes, as a driver would (the test's writes, not the waiter's).</summary>
        public async Task DriveAsync(Func<RolloutStatus, RolloutStatus> change) =>
            await new RolloutStateStore(Env.Cluster).UpdateAsync(Ns, Name, change, Env.Clock);

        public List<string> Lines()
        {
            lock (Seen.Events) return Seen.Events.Where(e => e is not (WaitingEvent or ApiRequestEvent)).Select(e => e.Message).ToList();
        }

        private int Reads(string what) => Api.Requests.GetValueOrDefault(what);

        /// <summary>
        /// One look: its 2 s delay ends (advanced until it does: the delay may not be armed yet), it reads the state,
        /// reports, then reads the Lease (after everything it had to say) and waits again. Returns what it said.
        /// </summary>
        public async Task<List<string>> LookAsync()
        {
            var before = Lines().Count;
            var (states, leases) = (Reads("get configmaps"), Reads("get leases"));
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Reads("get configmaps") == states)
            {
                Assert.True(DateTime.UtcNow < until, "no look within 60 s");
                Clock.Advance(TimeSpan.FromSeconds(2));
                await Task.Delay(10);
            }
            await UntilAsync(() => Reads("get leases") > leases, "the look's Lease read");
            return Lines().Skip(before).ToList();
        }

        /// <summary>Moves the waiter's clock until it returns; then disposes it, so Events still queued are written (or not).</summary>
        public async Task<RolloutResult> EndAsync()
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!Waiting.IsCompleted && DateTime.UtcNow < until)
            {
                Clock.Advance(TimeSpan.FromSeconds(2));
                await Task.Delay(10);
            }
            var done = await Waiting.WaitAsync(TimeSpan.FromSeconds(1));
            await Waiter.DisposeAsync();
            return done;
        }

        public static async Task<Following> StartAsync()
        {
            var env = SandboxEnvironment.Create("istio", "healthy");
            await using (var starter = env.CreateService(NullRolloutObserver.Instance, "starter"))
                await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
            var driver = new DriverIdentity("other", "sandbox", null, "other");
            await RolloutLease.AcquireAsync(env.Cluster, env.Clock, Ns, Name, driver, TimeSpan.FromHours(1));

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
            var following = new Following
            {
                Env = env, Driver = driver, Clock = clock, Seen = seen, Api = api, Waiter = waiter, ScrapeReads = () => Volatile.Read(ref scrapeReads),
                Started = clock.GetUtcNow(),
                Waiting = Task.Run(() => waiter.WaitAsync(Ns, Name, null)),
            };
            // Its first look ends with the wait it tells after everything else it says.
            await UntilAsync(() =>
            {
                lock (seen.Events) return seen.Events.OfType<WaitingEvent>().Any(w => w.Activity.EndsWith($"driven by {driver}", StringComparison.Ordinal));
            }, "the follow");
            Assert.Single(following.Lines(), l => l.Contains($"is driven by {driver}", StringComparison.Ordinal));
            return following;
        }
    }

    [Fact]
    public async Task A_wait_on_a_rollout_a_live_driver_holds_reports_each_change_once_writes_nothing_and_ends_with_it()
    {
        var f = await Following.StartAsync();
        var driver = f.Driver;
        Assert.Single(f.Lines(), l => l.StartsWith("step 1/9: setHeaderRoute testers", StringComparison.Ordinal));

        // Unchanged: nothing new to say, however often it looks.
        Assert.Empty(await f.LookAsync());
        Assert.Empty(await f.LookAsync());

        // The driver set the route and the first weight, and began the analysis: each step once, in order, and the split.
        var at = f.Env.Clock.GetUtcNow();
        await f.DriveAsync(s => s with { StepIndex = 2, CanaryWeight = 5, LastWritten = new WrittenSplit(95, 5, at, driver.ToString()) });
        Assert.Equal(["step 2/9: setWeight 5%", "step 3/9: analysis until verdict (at most 10m)", $"traffic: stable 95% / canary 5% (written by {driver})"],
            await f.LookAsync());
        Assert.Empty(await f.LookAsync());

        // A verdict, then the next step.
        await f.DriveAsync(s => s with { LastVerdicts = [Pass(400)] });
        Assert.Equal(["error-rate: Pass - no worse over 400 canary requests"], await f.LookAsync());
        await f.DriveAsync(s => s with { StepIndex = 3 });
        Assert.Equal(["step 4/9: setWeight 25%"], await f.LookAsync());

        // The end: the wait returns what the driver recorded.
        await f.DriveAsync(s => s with { Phase = RolloutPhase.Completed, CleanupDone = true, Message = "promoted" });
        var done = await f.EndAsync();

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        // The wait itself is told per step it waits at, again only after 30 s (the poll interval) of the waiter's clock,
        // not at every look: the cmdlets mirror waits to verbose. (The clock moves further when the waiter arms its
        // delay late, hence the bound rather than a count.)
        List<string> waits;
        lock (f.Seen.Events) waits = f.Seen.Events.OfType<WaitingEvent>().Select(w => w.Activity).ToList();
        Assert.Equal(["step 1/9, driven by " + driver, "step 3/9, driven by " + driver, "step 4/9, driven by " + driver],
            waits.Where((w, i) => i == 0 || waits[i - 1] != w));
        Assert.True(waits.Count <= 3 + (int)((f.Clock.GetUtcNow() - f.Started) / TimeSpan.FromSeconds(30)),
            $"{waits.Count} wait lines in {f.Clock.GetUtcNow() - f.Started} of looks");
        Assert.Single(f.Lines(), l => l == "phase Completed: promoted");
        Assert.Empty(f.Api.Writes);
        Assert.Equal(1, f.ScrapeReads());
    }

    /// <summary>It ends with the driver's outcome, so the hosts give the exit code a driving wait would (3 rolled back, 4 paused).</summary>
    [Theory]
    [InlineData(RolloutPhase.Aborted, null)]
    [InlineData(RolloutPhase.Paused, PauseReason.InsufficientData)]
    public async Task A_followed_rollout_that_rolls_back_or_pauses_ends_the_wait_with_that_outcome(RolloutPhase phase, PauseReason? reason)
    {
        var f = await Following.StartAsync();

        await f.DriveAsync(s => s with { Phase = phase, PauseReason = reason, CleanupDone = phase == RolloutPhase.Aborted, Message = "the driver's word" });
        var done = await f.EndAsync();

        Assert.Equal((phase, reason), (done.Phase, done.PauseReason));
        Assert.Single(f.Lines(), l => l.StartsWith($"phase {phase}", StringComparison.Ordinal) && l.EndsWith(": the driver's word", StringComparison.Ordinal));
        Assert.Equal(reason is null ? 0 : 1, f.Lines().Count(l => l.StartsWith($"paused ({reason})", StringComparison.Ordinal)));
        Assert.Empty(f.Api.Writes);
    }
}
