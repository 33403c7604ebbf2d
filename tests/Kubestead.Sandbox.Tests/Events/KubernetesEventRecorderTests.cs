using System.Text.Json.Nodes;
using Kubestead.Events;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Events;

/// <summary>Rollout events as Kubernetes Events (events.k8s.io/v1) on the stable Deployment, aggregated into series, on the emulated cluster.</summary>
public sealed class KubernetesEventRecorderTests
{
    private const string Ns = "web";
    private const string App = "shop";
    private readonly VirtualClock _clock = new(new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly EmulatedCluster _cluster;

    public KubernetesEventRecorderTests()
    {
        _cluster = new EmulatedCluster(_clock, podReadyDelay: TimeSpan.FromSeconds(20));
        _cluster.Seed(ResourceType.Deployment, ControllerTestApp.Deployment(Ns, App));
        _cluster.Seed(ResourceType.Service, ControllerTestApp.Service(Ns, App));
    }

    private string RolloutSpec => ControllerTestApp.RolloutSpec(Ns, App, readyTimeout: "2m", pause: "2m");

    private async Task RecordRolloutAsync()
    {
        await using var ci = new KubesteadService(_cluster, new KubesteadServiceOptions { Clock = _clock, Driver = new DriverIdentity("ci", "runner", null, "ci") });
        await Task.Run(() => ci.StartAsync(new StartRequest { SpecYaml = RolloutSpec }, wait: false));
    }

    private List<JsonObject> Events() => _cluster.PeekAll(KubernetesEventRecorder.EventType, Ns).OrderBy(e => e["eventTime"]!.GetValue<string>()).ToList();

    private WarningEvent Warning(string text) => new(_clock.GetUtcNow(), Ns, App, text);

    /// <summary>A watching wait retells the driver's events; the driver recorded them, and a follower writes nothing (issue #26 item 11).</summary>
    [Fact]
    public async Task A_followers_retold_events_are_passed_on_but_never_recorded()
    {
        await RecordRolloutAsync();
        var seen = new RecordingObserver();
        await using var recorder = new KubernetesEventRecorder(seen, _cluster, _clock, "ci@runner");
        var before = Events().Count;

        recorder.OnEvent(new WeightAppliedEvent(_clock.GetUtcNow(), Ns, App, 80, 20, "written by ci") { Followed = true });
        recorder.OnEvent(new PhaseChangedEvent(_clock.GetUtcNow(), Ns, App, RolloutPhase.Completed, null, "promoted") { Followed = true });
        await recorder.FlushAsync();

        Assert.Equal(2, seen.Events.Count);
        Assert.Equal(before, Events().Count);
    }

    [Fact]
    public async Task An_event_is_written_regarding_the_stable_Deployment_with_reason_action_note_and_reporter()
    {
        await RecordRolloutAsync();
        await using var recorder = new KubernetesEventRecorder(NullRolloutObserver.Instance, _cluster, _clock, "ci@runner");

        recorder.OnEvent(new WeightAppliedEvent(_clock.GetUtcNow(), Ns, App, 80, 20, "VirtualService shop"));
        await recorder.FlushAsync();

        var ev = Assert.Single(Events());
        Assert.Equal("apps/v1", ev["regarding"]!["apiVersion"]!.GetValue<string>());
        Assert.Equal("Deployment", ev["regarding"]!["kind"]!.GetValue<string>());
        Assert.Equal(App, ev["regarding"]!["name"]!.GetValue<string>());
        Assert.Equal(_cluster.Peek(ResourceType.Deployment, Ns, App)!["metadata"]!["uid"]!.GetValue<string>(), ev["regarding"]!["uid"]!.GetValue<string>());
        Assert.Equal("WeightChanged", ev["reason"]!.GetValue<string>());
        Assert.Equal("SetWeight", ev["action"]!.GetValue<string>());
        Assert.Equal("Normal", ev["type"]!.GetValue<string>());
        Assert.Equal("canary 20%, stable 80% (VirtualService shop)", ev["note"]!.GetValue<string>());
        Assert.Equal(KubernetesEventRecorder.ReportingController, ev["reportingController"]!.GetValue<string>());
        Assert.Equal("ci@runner", ev["reportingInstance"]!.GetValue<string>());
        Assert.Null(ev["series"]);
    }

    [Fact]
    public async Task Repeats_become_a_series_on_the_first_Event_until_six_minutes_pass_without_one()
    {
        await RecordRolloutAsync();
        await using var recorder = new KubernetesEventRecorder(NullRolloutObserver.Instance, _cluster, _clock, "ci@runner", seriesRefresh: TimeSpan.FromSeconds(30));

        recorder.OnEvent(Warning("metrics unavailable"));
        await recorder.FlushAsync();
        _clock.Advance(TimeSpan.FromSeconds(10));
        recorder.OnEvent(Warning("metrics unavailable"));
        await recorder.FlushAsync();
        // The second sighting is written at once: count 2.
        var ev = Assert.Single(Events());
        Assert.Equal(2, ev["series"]!["count"]!.GetValue<int>());
        Assert.Equal("Warning", ev["type"]!.GetValue<string>());

        // Later ones wait for the refresh: no write per repeat.
        recorder.OnEvent(Warning("metrics unavailable"));
        recorder.OnEvent(Warning("metrics unavailable"));
        await recorder.FlushAsync();
        Assert.Equal(2, Assert.Single(Events())["series"]!["count"]!.GetValue<int>());
        _clock.Advance(TimeSpan.FromSeconds(30));
        await recorder.FlushAsync();
        ev = Assert.Single(Events());
        Assert.Equal(4, ev["series"]!["count"]!.GetValue<int>());
        Assert.Equal(RolloutLease.FormatMicroTime(new DateTimeOffset(2026, 1, 1, 9, 0, 10, TimeSpan.Zero)), ev["series"]!["lastObservedTime"]!.GetValue<string>());

        // Another note is another Event; the same note after six quiet minutes starts afresh.
        recorder.OnEvent(Warning("canary not ready"));
        _clock.Advance(KubernetesEventRecorder.SeriesWindow + TimeSpan.FromMinutes(1));
        recorder.OnEvent(Warning("metrics unavailable"));
        await recorder.FlushAsync();
        Assert.Equal(["metrics unavailable", "canary not ready", "metrics unavailable"], Events().Select(e => e["note"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_rollout_whose_Events_cannot_be_written_runs_as_it_would_without_them()
    {
        // Time jumps to each timer the driver arms as it arms it, so the canary's readiness wait never races a clock
        // moved by this test in real time (on a loaded machine that clock once outran the 2m readiness timeout).
        var clock = new VirtualClock(_clock.GetUtcNow(), autoAdvance: true);
        var cluster = new EmulatedCluster(clock, podReadyDelay: TimeSpan.FromSeconds(20));
        cluster.Seed(ResourceType.Deployment, ControllerTestApp.Deployment(Ns, App));
        cluster.Seed(ResourceType.Service, ControllerTestApp.Service(Ns, App));
        var api = new EventRejectingApi(cluster);
        await using var ci = new KubesteadService(api, new KubesteadServiceOptions
        {
            Clock = clock, Driver = new DriverIdentity("ci", "runner", null, "ci"), RecordEvents = true,
        });
        var result = await Task.Run(() => ci.StartAsync(new StartRequest { SpecYaml = RolloutSpec }, wait: false)).WaitAsync(TimeSpan.FromMinutes(2));
        // Every Event queued so far has been attempted (and refused) once the flush returns.
        await ci.FlushEventsAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(RolloutPhase.Progressing, result.Phase);
        Assert.True(api.Rejected > 0, "no Event was attempted");
        Assert.Empty(cluster.PeekAll(KubernetesEventRecorder.EventType, Ns));
        // What a controller exports on /metrics: every refused Event counted, none dropped (the queue never filled).
        Assert.InRange(ci.EventDelivery.NotWritten, 1, api.Rejected);
        Assert.Equal(0, ci.EventDelivery.Dropped);
    }

    [Fact]
    public async Task A_dry_run_writes_no_Event()
    {
        var writesBefore = _cluster.Writes.Count;
        IReadOnlyList<PlannedChange> plan;
        // Disposing waits for the Event queue, so anything the dry run had queued would be written by the asserts.
        await using (var svc = new KubesteadService(_cluster, new KubesteadServiceOptions
                     {
                         Clock = _clock, Driver = new DriverIdentity("ci", "runner", null, "ci"), RecordEvents = true,
                     }))
            plan = await svc.PlanAsync(new StartOperation(new StartRequest { SpecYaml = RolloutSpec }));

        Assert.NotEmpty(plan);
        Assert.Equal(writesBefore, _cluster.Writes.Count);
        Assert.Empty(_cluster.PeekAll(KubernetesEventRecorder.EventType, Ns));
    }

    [Fact]
    public void Engine_chatter_is_no_Event_and_failed_verdicts_are_warnings()
    {
        var at = DateTimeOffset.UnixEpoch;
        Assert.Null(KubernetesEventDraft.From(new VerboseEvent(at, Ns, App, "GET ...")));
        var failed = KubernetesEventDraft.From(new VerdictEvent(at, Ns, App,
            new Kubestead.Analysis.Verdict("sequential", "error-rate", Kubestead.Analysis.VerdictOutcome.Fail, 100, 20, 100, 1, null, null, null, null, "canary fails 20%")))!;
        Assert.Equal(("Warning", "AnalysisFail", "Analyze"), (failed.Type, failed.Reason, failed.Action));
        var paused = KubernetesEventDraft.From(new PhaseChangedEvent(at, Ns, App, RolloutPhase.Paused, PauseReason.Manual, "paused by ci"))!;
        Assert.Equal(("Warning", "RolloutPaused"), (paused.Type, paused.Reason));
    }

    /// <summary>A cluster that refuses every Event (no RBAC for events.k8s.io), and serves everything else.</summary>
    [Fact]
    public async Task Events_beyond_a_full_queue_are_counted_as_dropped_and_said_once_as_a_warning()
    {
        await RecordRolloutAsync();
        var hold = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var api = new EventRejectingApi(_cluster, hold.Task);
        var host = new RecordingObserver();
        var recorder = new KubernetesEventRecorder(host, api, _clock, "ci@runner");
        try
        {
            // The first Event is taken off the queue and its write hangs (an API server that stopped answering them).
            recorder.OnEvent(Warning("first"));
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (api.Held == 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.Equal(1, api.Held);

            for (var i = 0; i < KubernetesEventRecorder.QueueCapacity; i++) recorder.OnEvent(Warning($"queued {i}"));
            Assert.Equal(0, recorder.Dropped);
            for (var i = 0; i < 5; i++) recorder.OnEvent(Warning($"one too many {i}"));

            Assert.Equal(5, recorder.Dropped);
            List<RolloutEvent> seen;
            lock (host.Events) seen = host.Events.ToList();
            var said = Assert.Single(seen.OfType<WarningEvent>(), w => w.Text.StartsWith("Kubernetes Events are being dropped", StringComparison.Ordinal));
            Assert.Contains($"{KubernetesEventRecorder.QueueCapacity} are still waiting", said.Text);
            Assert.Equal((Ns, App), (said.Namespace, said.Rollout));
        }
        finally
        {
            hold.SetResult(true);
            await recorder.DisposeAsync();
        }
    }

    /// <summary>Refuses every Event write; with <paramref name="hold"/>, each first waits for it (counted in <see cref="Held"/>).</summary>
    private sealed class EventRejectingApi(IKubernetesApi inner, Task? hold = null) : IKubernetesApi
    {
        private int _rejected;
        private int _held;

        public int Rejected => Volatile.Read(ref _rejected);

        public int Held => Volatile.Read(ref _held);

        public string DefaultNamespace => inner.DefaultNamespace;

        public Task<JsonObject> GetAsync(ResourceType type, string? ns, string name, CancellationToken ct = default) => inner.GetAsync(type, ns, name, ct);

        public Task<ObjectList> ListAsync(ResourceType type, string? ns, ListOptions? options = null, CancellationToken ct = default) => inner.ListAsync(type, ns, options, ct);

        public Task<JsonObject> CreateAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken ct = default) =>
            type == KubernetesEventRecorder.EventType ? Refuse() : inner.CreateAsync(type, ns, obj, ct);

        public Task<JsonObject> ReplaceAsync(ResourceType type, string? ns, string name, JsonObject obj, CancellationToken ct = default) => inner.ReplaceAsync(type, ns, name, obj, ct);

        public Task<JsonObject> PatchAsync(ResourceType type, string? ns, string name, KubernetesPatch patch, CancellationToken ct = default) =>
            type == KubernetesEventRecorder.EventType ? Refuse() : inner.PatchAsync(type, ns, name, patch, ct);

        public Task DeleteAsync(ResourceType type, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) => inner.DeleteAsync(type, ns, name, options, ct);

        public Task<JsonObject> GetSubresourceAsync(ResourceType type, string? ns, string name, string subresource, CancellationToken ct = default) =>
            inner.GetSubresourceAsync(type, ns, name, subresource, ct);

        public Task<JsonObject> ReplaceSubresourceAsync(ResourceType type, string? ns, string name, string subresource, JsonObject obj, CancellationToken ct = default) =>
            inner.ReplaceSubresourceAsync(type, ns, name, subresource, obj, ct);

        public Task<JsonObject> PatchSubresourceAsync(ResourceType type, string? ns, string name, string subresource, KubernetesPatch patch, CancellationToken ct = default) =>
            inner.PatchSubresourceAsync(type, ns, name, subresource, patch, ct);

        public IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? ns, WatchOptions? options = null, CancellationToken ct = default) => inner.WatchAsync(type, ns, options, ct);

        public Task<ApiDiscovery> DiscoverAsync(CancellationToken ct = default) => inner.DiscoverAsync(ct);

        private async Task<JsonObject> Refuse()
        {
            if (hold is not null)
            {
                Interlocked.Increment(ref _held);
                await hold.ConfigureAwait(false);
            }
            Interlocked.Increment(ref _rejected);
            throw new KubernetesApiException(403, StatusReason.Forbidden, "events.events.k8s.io is forbidden");
        }
    }
}
