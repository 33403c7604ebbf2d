using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;
using Xunit.Abstractions;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Runs against the cluster KUBESTEAD_TEST_KUBECONFIG names (./test.sh starts ../shared/kube-apiserver); skips only where
/// that is unset and ../shared is absent, as the sandbox's real-cluster tests do.
/// </summary>
public sealed class RealServerFactAttribute : FactAttribute
{
    public RealServerFactAttribute()
    {
        if (RealApiServer.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// Three `kubestead controller` processes share judged rollouts in five namespaces of the real kube-apiserver, without a
/// leader: one is killed (-9) mid-rollout, another stopped (SIGSTOP) past its Leases and continued, then every replica is
/// replaced one at a time (a rolling restart); every rollout ends as with one driver, no replica writes a rollout's state
/// while another holds its Lease, and nothing is left behind. Every rollout stays in its analysis step (judged every 5 s,
/// insufficient data: the stand-in Prometheus serves no canary traffic) until the test opens the gate, so the failures
/// and the restart surely happen mid-rollout however slow the machine is. 50 rollouts (issue #30's size) by default;
/// KUBESTEAD_CONTROLLER_SCALE_ROLLOUTS sets another count. 10 s Leases.
/// </summary>
public sealed class ControllerProcessRealServerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private const int NamespaceCount = 5;

    private static int RolloutCount =>
        int.TryParse(Environment.GetEnvironmentVariable("KUBESTEAD_CONTROLLER_SCALE_ROLLOUTS"), out var n) && n > 0 ? n : 50;

    private static string Kubeconfig => RealApiServer.Kubeconfig;

    private static Task<string> CreateNamespaceAsync(IKubernetesApi admin, string prefix) =>
        RealApiServer.CreateNamespaceAsync(admin, prefix, maxLength: prefix.Length + 9);

    private static async Task SeedAppAsync(IKubernetesApi admin, string ns, string app)
    {
        await admin.CreateAsync(ResourceType.Deployment, ns, ControllerTestApp.Deployment(ns, app));
        await admin.CreateAsync(ResourceType.Service, ns, ControllerTestApp.Service(ns, app));
    }

    /// <summary>Who held each rollout's Lease when, from a watch of the Leases for the whole test.</summary>
    private sealed class LeaseAudit
    {
        public List<(DateTimeOffset At, string Rollout, string Holder)> Changes { get; } = new();

        public async Task RunAsync(IKubernetesApi admin, IReadOnlyList<string> namespaces, CancellationToken ct)
        {
            await Task.WhenAll(namespaces.Select(async ns =>
            {
                try
                {
                    await foreach (var e in admin.WatchAsync(ResourceType.Lease, ns, new WatchOptions(ControllerHandoff.LeaseSelector), ct))
                    {
                        var rollout = $"{ns}/{e.Object["metadata"]!["labels"]![RolloutStateStore.RolloutLabel]!.GetValue<string>()}";
                        var holder = e.Type == WatchEventType.Deleted ? "" : e.Object["spec"]?["holderIdentity"]?.GetValue<string>() ?? "";
                        // A new holder wrote its acquireTime (this machine's clock) when it took the Lease; the watch may
                        // deliver that seconds later on a loaded machine, and the holder's first writes are not late.
                        var seen = DateTimeOffset.UtcNow;
                        var at = holder != "" && DateTimeOffset.TryParse(e.Object["spec"]?["acquireTime"]?.GetValue<string>(), CultureInfo.InvariantCulture,
                            DateTimeStyles.AssumeUniversal, out var acquired) && acquired < seen ? acquired : seen;
                        lock (Changes)
                            if (!Changes.Any(c => c.Rollout == rollout) || Changes.Last(c => c.Rollout == rollout).Holder != holder)
                                Changes.Add((at, rollout, holder));
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }));
        }

        /// <summary>The rollout's Lease changes so far, copied under the lock (the watch goes on adding).</summary>
        public List<(DateTimeOffset At, string Rollout, string Holder)> Of(string rollout)
        {
            lock (Changes) return Changes.Where(c => c.Rollout == rollout).ToList();
        }

        /// <summary>Whether <paramref name="holder"/> held the rollout's Lease at <paramref name="at"/> (give or take the watch's delay).</summary>
        public bool Held(string rollout, string holder, DateTimeOffset at, TimeSpan slack)
        {
            lock (Changes)
            {
                var mine = Changes.Where(c => c.Rollout == rollout).ToList();
                for (var i = 0; i < mine.Count; i++)
                {
                    if (mine[i].Holder != holder) continue;
                    var from = mine[i].At - slack;
                    var to = i + 1 < mine.Count ? mine[i + 1].At + slack : DateTimeOffset.MaxValue;
                    if (at >= from && at <= to) return true;
                }
                return false;
            }
        }
    }

    private static string Holder(string replica) => new DriverIdentity("controller", replica, null, replica).ToString();

    [RealServerFact]
    public async Task Three_controller_processes_carry_every_rollout_through_a_killed_a_stalled_and_a_rolling_restart()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Log(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
        IKubernetesApi admin = RealApiServer.Connect(Kubeconfig, "admin");
        var home = await CreateNamespaceAsync(admin, "ksctl");
        var namespaces = new List<string>();
        for (var i = 0; i < NamespaceCount; i++) namespaces.Add(await CreateNamespaceAsync(admin, $"ksteam{i}"));
        var readiness = namespaces.Select(ns => new ReadinessController(admin, ns)).ToList();
        using var prometheus = new GatedCanaryPrometheus();
        using var stopAudit = new CancellationTokenSource();
        var audit = new LeaseAudit();
        var auditing = audit.RunAsync(admin, namespaces, stopAudit.Token);
        var replicas = new Dictionary<string, ChildProcess>();
        ChildProcess StartReplica(string name) => replicas[name] = ChildProcess.Start([
            "controller", "--kubeconfig", Kubeconfig, "--context", "admin", "--home-namespace", home,
            "--watch-namespace", string.Join(",", namespaces), "--replica", name, "--lease-duration", Lease.ToString(), "--verbose",
            "--listen-address", "127.0.0.1:0", "--grace-period", "50s", // as deploy/deployment.yaml: draining dozens of rollouts outlasts the default 10 s
        ]);
        IReadOnlyList<ChildProcess> All() => replicas.Values.ToList();
        Task WaitReadyAsync(ChildProcess replica) =>
            WaitUntilAsync(async () => replica.Out.Contains("\"controller.listening\"", StringComparison.Ordinal)
                                       && (await ControllerScrape.GetAsync(replica, "/readyz")).Status == System.Net.HttpStatusCode.OK,
                TimeSpan.FromSeconds(90), "the replica is ready", All());
        var rollouts = new List<(string Ns, string Name)>();
        var store = new RolloutStateStore(admin);
        async Task<Dictionary<string, RolloutStatus>> StatusesAsync()
        {
            var result = new Dictionary<string, RolloutStatus>();
            foreach (var ns in namespaces)
                foreach (var r in await store.ListAsync(ns))
                    result[$"{r.Namespace}/{r.Name}"] = r.Status;
            return result;
        }
        // One list per namespace, not a read per rollout: the test polls these while 50 rollouts run.
        async Task<Dictionary<string, string>> HoldersAsync()
        {
            var result = rollouts.ToDictionary(r => $"{r.Ns}/{r.Name}", _ => "");
            foreach (var ns in namespaces)
                foreach (var lease in (await admin.ListAsync(ResourceType.Lease, ns, new ListOptions(ControllerHandoff.LeaseSelector))).Items)
                    result[$"{ns}/{lease["metadata"]!["labels"]![RolloutStateStore.RolloutLabel]!.GetValue<string>()}"] =
                        lease["spec"]?["holderIdentity"]?.GetValue<string>() ?? "";
            return result;
        }
        // Every rollout still in its analysis step at 50 %, none paused, aborted or failed (what a lost rollout would show).
        async Task AssertAllInAnalysisAsync(string when)
        {
            var statuses = await StatusesAsync();
            Assert.Equal(rollouts.Count, statuses.Count);
            foreach (var (key, status) in statuses)
                Assert.True(status is { Phase: RolloutPhase.Progressing, StepIndex: 1, CanaryWeight: 50 },
                    $"{when}: {key} is {status.Phase} at step {status.StepIndex + 1}, {status.CanaryWeight} %: {status.Message}");
        }
        // Every rollout's Lease held by one of these replicas: each is driven again.
        Task AllDrivenByAsync(string what, params string[] names) =>
            WaitUntilAsync(async () => (await HoldersAsync()).Values.All(h => names.Any(n => h == Holder(n))),
                TimeSpan.FromSeconds(120), what, All());
        try
        {
            foreach (var name in new[] { "r0", "r1", "r2" }) StartReplica(name);
            // Every replica is ready (first lists done, heartbeat fresh) before anything is handed over, so each takes only
            // its share; three heartbeat Leases alone were written before the replicas' slow first lists.
            foreach (var replica in All()) await WaitReadyAsync(replica);
            Log("three replicas ready");

            // Handed over from CI, one namespace per task (each with its own client: the service disposes the client it was given).
            var perNamespace = Enumerable.Range(0, RolloutCount).GroupBy(i => namespaces[i % NamespaceCount]).ToList();
            foreach (var group in perNamespace)
                foreach (var i in group) rollouts.Add((group.Key, $"app-{i}"));
            await Task.WhenAll(perNamespace.Select(async group =>
            {
                await using var ci = new KubesteadService(RealApiServer.Connect(Kubeconfig, "admin"), new KubesteadServiceOptions { Driver = new DriverIdentity("ci", "runner", null, "ci") });
                foreach (var i in group)
                {
                    var (ns, app) = (group.Key, $"app-{i}");
                    await SeedAppAsync(admin, ns, app);
                    RolloutResult started;
                    try
                    {
                        started = await ci.StartAsync(new StartRequest { SpecYaml = ControllerTestApp.AnalysisRolloutSpec(ns, app, prometheus.Address), Detach = true, ControllerNamespace = home }, wait: false);
                    }
                    catch (KubesteadException e) when (e.ErrorId == "NoLiveController")
                    {
                        // Say why no heartbeat was live: a replica that died says so on its way out.
                        throw new Xunit.Sdk.XunitException($"{e.Message}\nreplica logs:\n" + Logs(All()));
                    }
                    Assert.Equal(RolloutPhase.Progressing, started.Phase);
                }
            }));
            Log($"{rollouts.Count} rollouts handed over");

            // Kill -9 r0 once every rollout is judged and r0 and r1 drive some, then stop r1 for longer than its Leases last.
            await WaitUntilAsync(async () =>
            {
                var holders = (await HoldersAsync()).Values.ToList();
                return holders.Any(h => h == Holder("r0")) && holders.Any(h => h == Holder("r1"))
                       && (await StatusesAsync()).Values.All(s => s is { StepIndex: 1 });
            }, TimeSpan.FromSeconds(150), "every rollout in analysis, r0 and r1 driving some", All());
            await AssertAllInAnalysisAsync("before the kill");
            Log("every rollout in analysis");
            replicas["r0"].Signal(9);
            replicas["r1"].Signal(19); // SIGSTOP
            await Task.Delay(Lease + TimeSpan.FromSeconds(8));
            replicas["r1"].Signal(18); // SIGCONT
            await AllDrivenByAsync("the killed replica's rollouts taken over", "r1", "r2");
            Log("taken over from r0 and the stalled r1");
            await AssertAllInAnalysisAsync("after the kill and the stall");

            // A rolling restart: a replacement for the killed replica, then each survivor drained (SIGTERM) and replaced.
            var insufficient = 0.0;
            await WaitReadyAsync(StartReplica("r3"));
            foreach (var (old, replacement) in new[] { ("r1", "r4"), ("r2", "r5") })
            {
                insufficient += (await ControllerScrape.ReadAsync(replicas[old])).Sum("kubestead_controller_decisions_total", "verdict=\"InsufficientData\"");
                replicas[old].Signal(ChildProcess.Sigterm);
                Assert.True(await replicas[old].WaitForExitAsync(TimeSpan.FromSeconds(60)), $"{old} did not stop on SIGTERM");
                Assert.Equal(0, replicas[old].ExitCode);
                await WaitReadyAsync(StartReplica(replacement));
                await AssertAllInAnalysisAsync($"after {old} was replaced by {replacement}");
            }
            await AllDrivenByAsync("every rollout driven by the restarted replicas", "r3", "r4", "r5");
            Log("rolling restart done");
            // The judges ran all along: windows without canary traffic are InsufficientData, never a pass or a failure.
            Assert.True(insufficient >= 1, $"InsufficientData decisions {insufficient}");

            prometheus.Open();
            await WaitUntilAsync(async () => (await StatusesAsync()).Values.All(s => s is { Phase: RolloutPhase.Completed, CleanupDone: true }),
                TimeSpan.FromSeconds(180), "every rollout completed", All());
            Log("every rollout completed");

            // Ends as with one driver: one weight step, one promotion, canary gone, nobody holds the Lease.
            foreach (var (ns, name) in rollouts)
            {
                var state = await store.LoadAsync(ns, name);
                Assert.Single(state.Status.History, h => h.Kind == "setWeight");
                Assert.Single(state.Status.History, h => h.Kind == "complete");
                await Assert.ThrowsAsync<KubernetesApiException>(() => admin.GetAsync(ResourceType.Deployment, ns, name + "-canary"));
                // No write after a lost Lease: every state entry a controller wrote falls inside a time it held the Lease.
                foreach (var h in state.Status.History.Where(h => h.Driver.StartsWith("controller@", StringComparison.Ordinal)))
                    Assert.True(audit.Held($"{ns}/{name}", h.Driver, h.At, TimeSpan.FromSeconds(1)),
                        $"{ns}/{name}: '{h.Kind}' written by {h.Driver} at {h.At:HH:mm:ss.fff} while it did not hold the Lease; Lease history: " +
                        string.Join(", ", audit.Of($"{ns}/{name}").Select(c => $"{c.At:HH:mm:ss.fff} {c.Holder}")));
            }
            Assert.All((await HoldersAsync()).Values, h => Assert.Equal("", h));

            // The final replicas' /metrics and /readyz over 127.0.0.1: every rollout seen Completed, no Lease held, API
            // traffic counted, and the passing verdicts reached in their drives.
            var final = new[] { "r3", "r4", "r5" }.Select(n => replicas[n]).ToList();
            var passes = 0.0;
            foreach (var survivor in final)
            {
                await WaitUntilAsync(async () => (await ControllerScrape.ReadAsync(survivor)).Value("kubestead_controller_rollouts", "phase=\"Completed\"") == rollouts.Count,
                    TimeSpan.FromSeconds(30), "the watch sees every rollout completed", All());
                var scrape = await ControllerScrape.ReadAsync(survivor);
                Assert.Equal(0, scrape.Value("kubestead_controller_rollouts", "phase=\"Progressing\""));
                Assert.Equal(0, scrape.Value("kubestead_controller_leases_held", null));
                Assert.True(scrape.Sum("kubestead_controller_api_requests_total", "verb=\"watch\",resource=\"configmaps\"") >= 1, scrape.Text);
                Assert.True(scrape.Sum("kubestead_controller_api_requests_total", "verb=\"update\",resource=\"leases.coordination.k8s.io\",code=\"200\"") >= 1, scrape.Text);
                Assert.True(scrape.Sum("kubestead_controller_reconcile_duration_seconds_count", null) >= 1, scrape.Text);
                Assert.Equal(0, scrape.Sum("kubestead_controller_decisions_total", "verdict=\"Fail\""));
                passes += scrape.Sum("kubestead_controller_decisions_total", "verdict=\"Pass\"");
                Assert.Equal(System.Net.HttpStatusCode.OK, (await ControllerScrape.GetAsync(survivor, "/readyz")).Status);
            }
            Assert.True(passes >= rollouts.Count, $"Pass decisions {passes} for {rollouts.Count} rollouts");
            // Events on each Deployment, written by the controllers (from whichever replica drove which part).
            foreach (var ns in namespaces)
            {
                var events = (await admin.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, ns)).Items;
                foreach (var (_, name) in rollouts.Where(r => r.Ns == ns))
                {
                    var mine = events.Where(e => e["regarding"]?["name"]?.GetValue<string>() == name).ToList();
                    Assert.Contains(mine, e => e["reason"]?.GetValue<string>() == "RolloutCompleted" && e["regarding"]!["kind"]!.GetValue<string>() == "Deployment");
                    Assert.Contains(mine, e => e["reason"]?.GetValue<string>() == "WeightChanged");
                    Assert.Contains(mine, e => e["reason"]?.GetValue<string>() == "AnalysisPass");
                    Assert.All(mine, e => Assert.StartsWith("controller@", e["reportingInstance"]!.GetValue<string>(), StringComparison.Ordinal));
                }
            }

            // SIGTERM drains the final replicas: exit 0, heartbeats removed; the killed replica's heartbeat only expires.
            foreach (var replica in final) replica.Signal(ChildProcess.Sigterm);
            foreach (var replica in final)
            {
                Assert.True(await replica.WaitForExitAsync(TimeSpan.FromSeconds(60)), "a replica did not stop on SIGTERM");
                Assert.Equal(0, replica.ExitCode);
            }
            var left = (await admin.ListAsync(ResourceType.Lease, home, new ListOptions(ControllerHeartbeat.Selector))).Items
                .Select(l => l["metadata"]!["name"]!.GetValue<string>()).ToList();
            Assert.Equal([ControllerHeartbeat.NameFor("r0")], left);
            // The JSON log names rollouts; the killed replica's rollouts were taken over.
            Assert.Contains("\"event\":\"controller.driving\"", replicas["r2"].Out + replicas["r1"].Out);
            Log("done");
        }
        finally
        {
            foreach (var r in replicas.Values)
            {
                if (!r.HasExited) r.Signal(9);
                r.Dispose();
            }
            await stopAudit.CancelAsync();
            await auditing;
            foreach (var rc in readiness) await rc.DisposeAsync();
        }
    }

    private static string Logs(IReadOnlyList<ChildProcess> replicas) =>
        string.Join("\n---\n", replicas.Select(r => (r.HasExited ? $"exited {r.ExitCode}\n" : "") + r.Out[^Math.Min(3000, r.Out.Length)..] + r.Err));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, IReadOnlyList<ChildProcess> replicas)
    {
        var until = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < until)
        {
            if (await condition()) return;
            await Task.Delay(500);
        }
        Assert.Fail($"not within {timeout}: {what}; replica logs:\n" + Logs(replicas));
    }
}
