using System.Text.Json.Nodes;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// Controller replicas in one test process on an emulated cluster and a hand-moved virtual clock: each replica has its
/// own line to the cluster (which the test can freeze), its own engine and its own identity, as separate processes do.
/// Time moves one virtual second per step, with a little real time between steps for the replicas to act.
/// </summary>
internal sealed class ControllerFleet : IAsyncDisposable
{
    public const string Home = "kubestead-system";
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);

    public VirtualClock Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero));
    public EmulatedCluster Cluster { get; }
    public List<Replica> Replicas { get; } = new();
    public List<RolloutKey> Rollouts { get; } = new();

    public ControllerFleet()
    {
        Cluster = new EmulatedCluster(Clock, podReadyDelay: TimeSpan.FromSeconds(20)) { DefaultNamespace = Home, RequireNamespaces = true };
        SeedNamespace(Home);
    }

    public sealed class Replica(string name, FreezableApi api, RolloutController controller, CancellationTokenSource stop, Task run, List<ControllerEvent> events)
    {
        public string Name => name;
        public FreezableApi Api => api;
        public RolloutController Controller => controller;
        public CancellationTokenSource Stop => stop;
        public Task Run => run;
        /// <summary>
        /// What the replica has reported so far, copied under the recorder's lock: the replica keeps running (and
        /// reporting) while a test reads, and enumerating the live list then throws.
        /// </summary>
        public IReadOnlyList<ControllerEvent> Events
        {
            get
            {
                lock (events) return events.ToList();
            }
        }
        public int MostDrivenAtOnce { get; set; }

        /// <summary>The read cache in front of <see cref="Api"/> that the replica's engine and controller read through, as in the real host.</summary>
        public WatchCachedApi? Cache { get; set; }

        /// <summary>The engine's Lease holder string for this replica.</summary>
        public string Holder => Identity(name).ToString();
    }

    private sealed class Recorder(List<ControllerEvent> events) : IControllerObserver
    {
        public void OnEvent(ControllerEvent e)
        {
            lock (events) events.Add(e);
        }
    }

    public static DriverIdentity Identity(string replica) => new("controller", replica, null, replica);

    /// <summary>Starts a replica and waits until it is ready, unless <paramref name="waitReady"/> is false; <paramref name="beforeStart"/> sees its line to the cluster first.</summary>
    /// <paramref name="heartbeat"/> and <paramref name="shareRecheck"/> replace the fleet's 30 s heartbeat and the default recheck.
    public async Task<Replica> StartReplicaAsync(string name, Action<FreezableApi>? beforeStart = null, bool waitReady = true,
        TimeSpan? heartbeat = null, TimeSpan? shareRecheck = null)
    {
        var api = new FreezableApi(Cluster) { Clock = Clock };
        beforeStart?.Invoke(api);
        // As ControllerHost does: the replica's engine and controller read Deployments and state ConfigMaps from watches.
        var cache = ControllerReadCache.Over(api, Clock);
        var engine = new KubesteadService(cache, new KubesteadServiceOptions
        {
            Clock = Clock, Driver = Identity(name), LeaseDuration = LeaseDuration, PollInterval = TimeSpan.FromSeconds(30),
        });
        var events = new List<ControllerEvent>();
        var controller = new RolloutController(cache, engine.Driver, new ControllerOptions
        {
            Replica = name, HomeNamespace = Home, Clock = Clock, HeartbeatDuration = heartbeat ?? TimeSpan.FromSeconds(30), ResyncPeriod = TimeSpan.FromMinutes(5),
            ShareRecheck = shareRecheck ?? new ControllerOptions { Replica = name, HomeNamespace = Home }.ShareRecheck,
        }, new Recorder(events));
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => controller.RunAsync(stop.Token));
        var replica = new Replica(name, api, controller, stop, run, events) { Cache = cache };
        Replicas.Add(replica);
        if (!waitReady) return replica;
        for (var i = 0; i < 500 && !controller.IsReady; i++) await Task.Delay(5);
        Assert.True(controller.IsReady, $"replica {name} did not become ready");
        return replica;
    }

    private void SeedNamespace(string ns)
    {
        if (Cluster.Peek(ResourceType.Namespace, null, ns) is null)
            Cluster.Seed(ResourceType.Namespace, JsonNode.Parse($$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{ns}}}"}}""")!.AsObject());
    }

    /// <summary>An app (Deployment of 2 and Service) and a recorded rollout of it, handed to controllers (unless told not to) as CI would.</summary>
    public async Task HandOverAsync(string ns, string app, bool toControllers = true, string? spec = null)
    {
        SeedApp(ns, app);
        await using var ci = CiService();
        // `kubestead start --detach`, or a plain `start --no-wait` that leaves the rollout to its CI job.
        await Task.Run(() => ci.StartAsync(new StartRequest { SpecYaml = spec ?? Spec(ns, app), Detach = toControllers, ControllerNamespace = Home }, wait: false));
        if (toControllers) Rollouts.Add(new RolloutKey(ns, app));
    }

    /// <summary>A CI job's engine (not a controller).</summary>
    public KubesteadService CiService() => new(Cluster, new KubesteadServiceOptions { Clock = Clock, Driver = new DriverIdentity("ci", "runner", null, "ci") });

    /// <summary>An app to roll out: a Deployment of 2 and its Service.</summary>
    public void SeedApp(string ns, string app)
    {
        SeedNamespace(ns);
        Cluster.Seed(ResourceType.Deployment, ControllerTestApp.Deployment(ns, app));
        Cluster.Seed(ResourceType.Service, ControllerTestApp.Service(ns, app));
    }

    public static string Spec(string ns, string app) => ControllerTestApp.RolloutSpec(ns, app, readyTimeout: "2m", pause: "2m");

    public StoredRollout State(RolloutKey key) =>
        RolloutStateStore.FromConfigMap(Cluster.Peek(ResourceType.ConfigMap, key.Namespace, RolloutStateStore.ObjectName(key.Name))!);

    /// <summary>The resourceVersion of the rollout's Lease now (null when there is none).</summary>
    public string? LeaseVersion(RolloutKey key) =>
        Cluster.Peek(ResourceType.Lease, key.Namespace, RolloutLease.ObjectName(key.Name))?["metadata"]?["resourceVersion"]?.GetValue<string>();

    public string? LeaseHolder(RolloutKey key) =>
        Cluster.Peek(ResourceType.Lease, key.Namespace, RolloutLease.ObjectName(key.Name))?["spec"]?["holderIdentity"]?.GetValue<string>();

    /// <summary>
    /// Every rollout completed, cleaned up and its Lease released. The release is the driver's last write, after the state
    /// says Completed, so a check of the state alone can catch the driver between the two on a loaded machine.
    /// </summary>
    public bool AllDone() => Rollouts.All(k => State(k).Status is { Phase: RolloutPhase.Completed, CleanupDone: true } && string.IsNullOrEmpty(LeaseHolder(k)));

    /// <summary>Moves the clock a second at a time until <paramref name="done"/> holds; fails after <paramref name="limit"/> of virtual time.</summary>
    public async Task AdvanceUntilAsync(Func<bool> done, TimeSpan limit, string what)
    {
        for (var waited = TimeSpan.Zero; waited < limit; waited += TimeSpan.FromSeconds(1))
        {
            // Real time for the replicas to act on the last second before the next one starts.
            await Task.Delay(3);
            foreach (var r in Replicas) r.MostDrivenAtOnce = Math.Max(r.MostDrivenAtOnce, r.Controller.Driving.Count);
            if (done()) return;
            Clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Fail($"not reached within {limit} of virtual time: {what}; states: " +
                    string.Join("; ", Rollouts.Select(k => $"{k} {State(k).Status.Phase} step {State(k).Status.StepIndex} lease {LeaseHolder(k)}")));
    }

    /// <summary>
    /// Waits, without moving the clock, until <paramref name="done"/> holds: what is due has fallen due, and only real
    /// time (as much as a loaded machine needs, up to two minutes) is left for the replicas to act on it.
    /// </summary>
    public async Task WaitWithClockStoppedAsync(Func<bool> done, string what)
    {
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            if (patience.Elapsed > TimeSpan.FromMinutes(2))
                Assert.Fail($"not reached with the clock stopped at {Clock.GetUtcNow():u}: {what}; states: " +
                            string.Join("; ", Rollouts.Select(k => $"{k} {State(k).Status.Phase} step {State(k).Status.StepIndex} lease {LeaseHolder(k)}")));
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in Replicas)
        {
            r.Api.Thaw();
            r.Api.ReleaseLists();
            await r.Stop.CancelAsync();
        }
        foreach (var r in Replicas)
            await Task.WhenAny(r.Run, Task.Delay(TimeSpan.FromSeconds(10)));
        foreach (var r in Replicas)
            if (r.Cache is { } cache) await Task.WhenAny(cache.DisposeAsync().AsTask(), Task.Delay(TimeSpan.FromSeconds(10)));
    }
}
