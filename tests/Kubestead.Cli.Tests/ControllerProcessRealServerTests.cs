using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;

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
/// Three `kubestead controller` processes share rollouts in three namespaces of the real kube-apiserver, without a
/// leader: one is killed (-9) mid-rollout, another stopped (SIGSTOP) past its Leases and continued; every rollout ends
/// as with one driver, no replica writes a rollout's state while another holds its Lease, and nothing is left behind.
/// Sized to run in about a minute and a half: 9 rollouts, 10 s Leases.
/// </summary>
public sealed class ControllerProcessRealServerTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    private static string Kubeconfig => RealApiServer.Kubeconfig;

    private static Task<string> CreateNamespaceAsync(IKubernetesApi admin, string prefix) =>
        RealApiServer.CreateNamespaceAsync(admin, prefix, maxLength: prefix.Length + 9);

    private static string Spec(string ns, string app) => ControllerTestApp.RolloutSpec(ns, app, readyTimeout: "1m", pause: "30s", scaleDownDelay: "0s");

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
                        lock (Changes)
                            if (!Changes.Any(c => c.Rollout == rollout) || Changes.Last(c => c.Rollout == rollout).Holder != holder)
                                Changes.Add((DateTimeOffset.UtcNow, rollout, holder));
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }));
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

    [RealServerFact]
    public async Task Three_controller_processes_carry_every_rollout_through_a_killed_and_a_stalled_replica()
    {
        IKubernetesApi admin = RealApiServer.Connect(Kubeconfig, "admin");
        var home = await CreateNamespaceAsync(admin, "ksctl");
        var namespaces = new List<string>();
        for (var i = 0; i < 3; i++) namespaces.Add(await CreateNamespaceAsync(admin, $"ksteam{i}"));
        var readiness = namespaces.Select(ns => new ReadinessController(admin, ns)).ToList();
        using var stopAudit = new CancellationTokenSource();
        var audit = new LeaseAudit();
        var auditing = audit.RunAsync(admin, namespaces, stopAudit.Token);
        var replicas = new List<ChildProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
                replicas.Add(ChildProcess.Start([
                    "controller", "--kubeconfig", Kubeconfig, "--context", "admin", "--home-namespace", home,
                    "--watch-namespace", string.Join(",", namespaces), "--replica", $"r{i}", "--lease-duration", Lease.ToString(), "--verbose",
                    "--listen-address", "127.0.0.1:0",
                ]));
            // Every replica is ready (first lists done, heartbeat fresh) before anything is handed over, so each takes only
            // its share; three heartbeat Leases alone were written before the replicas' slow first lists.
            await WaitUntilAsync(async () => (await admin.ListAsync(ResourceType.Lease, home, new ListOptions(ControllerHeartbeat.Selector))).Items.Count == 3,
                TimeSpan.FromSeconds(60), "three heartbeats", replicas);
            foreach (var replica in replicas)
                await WaitUntilAsync(async () => replica.Out.Contains("\"controller.listening\"", StringComparison.Ordinal)
                                                 && (await ControllerScrape.GetAsync(replica, "/readyz")).Status == System.Net.HttpStatusCode.OK,
                    TimeSpan.FromSeconds(60), "every replica ready", replicas);

            var rollouts = new List<(string Ns, string Name)>();
            // Its own client: the service disposes the client it was given.
            await using (var ci = new KubesteadService(RealApiServer.Connect(Kubeconfig, "admin"), new KubesteadServiceOptions { Driver = new DriverIdentity("ci", "runner", null, "ci") }))
            {
                for (var i = 0; i < 9; i++)
                {
                    var (ns, app) = (namespaces[i % 3], $"app-{i}");
                    await SeedAppAsync(admin, ns, app);
                    RolloutResult started;
                    try
                    {
                        started = await ci.StartAsync(new StartRequest { SpecYaml = Spec(ns, app), Detach = true, ControllerNamespace = home }, wait: false);
                    }
                    catch (KubesteadException e) when (e.ErrorId == "NoLiveController")
                    {
                        // Say why no heartbeat was live: a replica that died says so on its way out.
                        throw new Xunit.Sdk.XunitException($"{e.Message}\nreplica logs:\n" + string.Join("\n---\n", replicas.Select(r =>
                            (r.HasExited ? $"exited {r.ExitCode}\n" : "") + r.Out[^Math.Min(3000, r.Out.Length)..] + r.Err)));
                    }
                    Assert.Equal(RolloutPhase.Progressing, started.Phase);
                    rollouts.Add((ns, app));
                }
            }
            string Holder(int replica) => new DriverIdentity("controller", $"r{replica}", null, $"r{replica}").ToString();
            async Task<Dictionary<string, string>> HoldersAsync()
            {
                var result = new Dictionary<string, string>();
                foreach (var (ns, name) in rollouts)
                {
                    try
                    {
                        var lease = await admin.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(name));
                        result[$"{ns}/{name}"] = lease["spec"]?["holderIdentity"]?.GetValue<string>() ?? "";
                    }
                    catch (KubernetesApiException e) when (e.IsNotFound)
                    {
                        result[$"{ns}/{name}"] = "";
                    }
                }
                return result;
            }

            // Kill -9 r0 once it drives something, then stop r1 for longer than its Leases last.
            await WaitUntilAsync(async () => (await HoldersAsync()).Values.Count(h => h == Holder(0)) > 0 && (await HoldersAsync()).Values.Count(h => h == Holder(1)) > 0,
                TimeSpan.FromSeconds(60), "r0 and r1 drive rollouts", replicas);
            replicas[0].Signal(9);
            replicas[1].Signal(19); // SIGSTOP
            await Task.Delay(Lease + TimeSpan.FromSeconds(8));
            replicas[1].Signal(18); // SIGCONT

            var store = new RolloutStateStore(admin);
            await WaitUntilAsync(async () =>
            {
                foreach (var (ns, name) in rollouts)
                    if ((await store.LoadAsync(ns, name)).Status is not { Phase: RolloutPhase.Completed, CleanupDone: true }) return false;
                return true;
            }, TimeSpan.FromSeconds(120), "every rollout completed", replicas);

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
                        string.Join(", ", audit.Changes.Where(c => c.Rollout == $"{ns}/{name}").Select(c => $"{c.At:HH:mm:ss.fff} {c.Holder}")));
            }
            Assert.All((await HoldersAsync()).Values, h => Assert.Equal("", h));

            // The survivors' /metrics and /readyz over 127.0.0.1: every rollout seen Completed, no Lease held, API traffic counted.
            foreach (var survivor in replicas.Skip(1))
            {
                await WaitUntilAsync(async () => (await ControllerScrape.ReadAsync(survivor)).Value("kubestead_controller_rollouts", "phase=\"Completed\"") == rollouts.Count,
                    TimeSpan.FromSeconds(20), "the watch sees every rollout completed", replicas);
                var scrape = await ControllerScrape.ReadAsync(survivor);
                Assert.Equal(0, scrape.Value("kubestead_controller_rollouts", "phase=\"Progressing\""));
                Assert.Equal(0, scrape.Value("kubestead_controller_leases_held", null));
                Assert.True(scrape.Sum("kubestead_controller_api_requests_total", "verb=\"watch\",resource=\"configmaps\"") >= 1, scrape.Text);
                Assert.True(scrape.Sum("kubestead_controller_api_requests_total", "verb=\"update\",resource=\"leases.coordination.k8s.io\",code=\"200\"") >= 1, scrape.Text);
                // Every look is timed; which outcomes a replica saw depends on the run (the stalled one may have lost every
                // rollout it drove, so it has LeaseLost and no Driven): the Driven looks are counted over all survivors below.
                Assert.True(scrape.Sum("kubestead_controller_reconcile_duration_seconds_count", null) >= 1, scrape.Text);
                Assert.Equal(System.Net.HttpStatusCode.OK, (await ControllerScrape.GetAsync(survivor, "/readyz")).Status);
            }
            // Events on each Deployment, written by the controllers (from whichever replica drove which part).
            foreach (var (ns, name) in rollouts)
            {
                var events = (await admin.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, ns)).Items
                    .Where(e => e["regarding"]?["name"]?.GetValue<string>() == name).ToList();
                Assert.Contains(events, e => e["reason"]?.GetValue<string>() == "RolloutCompleted" && e["regarding"]!["kind"]!.GetValue<string>() == "Deployment");
                Assert.Contains(events, e => e["reason"]?.GetValue<string>() == "WeightChanged");
                Assert.All(events, e => Assert.StartsWith("controller@", e["reportingInstance"]!.GetValue<string>(), StringComparison.Ordinal));
            }

            // Each rollout's last drive ran on a survivor and ended by itself (completed): at least one "Driven" look per rollout.
            var driven = 0.0;
            foreach (var survivor in replicas.Skip(1))
                driven += (await ControllerScrape.ReadAsync(survivor)).Sum("kubestead_controller_reconcile_duration_seconds_count", "outcome=\"Driven\"");
            Assert.True(driven >= rollouts.Count, $"driven {driven}");

            // SIGTERM drains the survivors: exit 0, heartbeats removed; the killed replica's heartbeat only expires.
            replicas[1].Signal(ChildProcess.Sigterm);
            replicas[2].Signal(ChildProcess.Sigterm);
            Assert.True(await replicas[1].WaitForExitAsync(TimeSpan.FromSeconds(30)), "r1 did not stop on SIGTERM");
            Assert.True(await replicas[2].WaitForExitAsync(TimeSpan.FromSeconds(30)), "r2 did not stop on SIGTERM");
            Assert.Equal(0, replicas[1].ExitCode);
            Assert.Equal(0, replicas[2].ExitCode);
            var left = (await admin.ListAsync(ResourceType.Lease, home, new ListOptions(ControllerHeartbeat.Selector))).Items
                .Select(l => l["metadata"]!["name"]!.GetValue<string>()).ToList();
            Assert.Equal([ControllerHeartbeat.NameFor("r0")], left);
            // The JSON log names rollouts; the killed replica's rollouts were taken over.
            Assert.Contains("\"event\":\"controller.driving\"", replicas[2].Out + replicas[1].Out);
        }
        finally
        {
            foreach (var r in replicas)
            {
                if (!r.HasExited) r.Signal(9);
                r.Dispose();
            }
            await stopAudit.CancelAsync();
            await auditing;
            foreach (var rc in readiness) await rc.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, IReadOnlyList<ChildProcess> replicas)
    {
        var until = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < until)
        {
            if (await condition()) return;
            await Task.Delay(250);
        }
        Assert.Fail($"not within {timeout}: {what}; replica logs:\n" + string.Join("\n---\n", replicas.Select(r => r.Out[^Math.Min(3000, r.Out.Length)..] + r.Err)));
    }
}
