using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Events;

/// <summary>
/// Passes every rollout event on to the host's observer and also records it as a Kubernetes Event (events.k8s.io/v1)
/// regarding the rollout's stable Deployment, so <c>kubectl describe deployment</c> and <c>kubectl get events</c> show
/// what Kubestead did whichever host drove it. Aggregated the way client-go's events recorder does it: the same event
/// (same Deployment, type, reason, action and note) seen again within six minutes becomes a series on the first Event
/// (<c>series.count</c>, <c>series.lastObservedTime</c>) instead of a new object; the second sighting is written at once,
/// later ones at most every <see cref="SeriesRefresh"/>. Unlike client-go the note is part of the sameness, so a weight
/// going 10% then 20% stays two Events rather than one series that names only the first weight.
/// <para>
/// Writing happens on a background queue: the observer call never waits on the API server, and a failed write (no RBAC
/// for events, an outage) is counted and dropped, never thrown into the drive. The queue holds <see cref="QueueCapacity"/>
/// Events; beyond that (an API server that stopped answering Event writes) new ones are dropped, counted in
/// <see cref="Dropped"/>, and the first drop is said once as a warning to the host (not recorded: it would only queue).
/// </para>
/// </summary>
public sealed class KubernetesEventRecorder : IRolloutObserver, IAsyncDisposable
{
    public static readonly ResourceType EventType = new("events.k8s.io", "v1", "events", "Event");

    /// <summary>reportingController of every Event Kubestead writes (a name in the form Kubernetes asks for).</summary>
    public const string ReportingController = "kubestead.io/kubestead";

    /// <summary>How long an Event stays open for repeats to join its series (client-go's figure).</summary>
    public static readonly TimeSpan SeriesWindow = TimeSpan.FromMinutes(6);

    /// <summary>Events waiting to be written, at most.</summary>
    public const int QueueCapacity = 1000;

    private const int MaxNoteBytes = 1024;
    private readonly IRolloutObserver _inner;
    private readonly IKubernetesApi _api;
    private readonly TimeProvider _clock;
    private readonly string _instance;
    private readonly Channel<QueueItem> _queue = Channel.CreateBounded<QueueItem>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly Dictionary<KubernetesEventDraft, Recorded> _recent = new();
    private readonly Dictionary<(string Ns, string Rollout), JsonObject?> _regarding = new();
    private readonly ITimer _refresh;
    private readonly Task _writer;
    private int _failures;
    private int _dropped;
    private long _sequence;

    /// <param name="instance">reportingInstance: the driver's identity (which process or replica wrote it).</param>
    public KubernetesEventRecorder(IRolloutObserver inner, IKubernetesApi api, TimeProvider clock, string instance, TimeSpan? seriesRefresh = null)
    {
        _inner = inner;
        _api = api;
        _clock = clock;
        _instance = instance.Length <= 128 ? instance : instance[..128];
        SeriesRefresh = seriesRefresh ?? TimeSpan.FromSeconds(30);
        // Repeats after the second one wait for this tick to be written.
        _refresh = clock.CreateTimer(_ => _queue.Writer.TryWrite(new QueueItem(null, null)), null, SeriesRefresh, SeriesRefresh);
        _writer = Task.Run(WriteAllAsync);
    }

    public TimeSpan SeriesRefresh { get; }

    /// <summary>Events that could not be written (dropped: Events are a courtesy, the rollout's state is the record).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Events never attempted because <see cref="QueueCapacity"/> others were still waiting to be written.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    public void OnEvent(RolloutEvent e)
    {
        _inner.OnEvent(e);
        // A follower's events retell what the driver already recorded; a follower writes nothing.
        if (e.Followed || KubernetesEventDraft.From(e) is not { } draft || _queue.Writer.TryWrite(new QueueItem(draft, null))) return;
        Interlocked.Increment(ref _failures);
        if (Interlocked.Increment(ref _dropped) == 1)
            _inner.OnEvent(new WarningEvent(_clock.GetUtcNow(), e.Namespace, e.Rollout,
                $"Kubernetes Events are being dropped: {QueueCapacity} are still waiting to be written (the API server is slow to accept them or " +
                "refuses them); the rollout goes on, and its state and history stay complete"));
    }

    /// <summary>An Event to record; neither: write the series counts that are due; <see cref="Done"/>: tell a flush everything before it is written.</summary>
    private sealed record QueueItem(KubernetesEventDraft? Draft, TaskCompletionSource? Done);

    private sealed class Recorded(string name, DateTimeOffset at)
    {
        public string Name { get; } = name;
        public int Count { get; set; } = 1;
        public int CountWritten { get; set; } = 1;
        public DateTimeOffset LastObserved { get; set; } = at;
        public DateTimeOffset LastWritten { get; set; } = at;
    }

    private async Task WriteAllAsync()
    {
        await foreach (var item in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (item.Done is { } done) done.TrySetResult();
                else if (item.Draft is { } draft) await RecordAsync(draft).ConfigureAwait(false);
                else await WriteDueSeriesAsync(force: false).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubernetesApiException or KubesteadException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
            {
                Interlocked.Increment(ref _failures);
            }
        }
        try
        {
            await WriteDueSeriesAsync(force: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubernetesApiException or KubesteadException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
        {
            Interlocked.Increment(ref _failures);
        }
    }

    private async Task RecordAsync(KubernetesEventDraft draft)
    {
        var now = _clock.GetUtcNow();
        foreach (var stale in _recent.Where(r => now - r.Value.LastObserved > SeriesWindow).Select(r => r.Key).ToList()) _recent.Remove(stale);
        if (_recent.TryGetValue(draft, out var seen))
        {
            seen.Count++;
            seen.LastObserved = now;
            // The second sighting turns the Event into a series at once; later ones ride on the refresh timer.
            if (seen.CountWritten == 1) await WriteSeriesAsync(draft, seen).ConfigureAwait(false);
            return;
        }
        if (await RegardingAsync(draft.Namespace, draft.Rollout).ConfigureAwait(false) is not { } regarding) return;
        var name = $"{regarding["name"]!.GetValue<string>()}.{now.ToUnixTimeMilliseconds():x}{Interlocked.Increment(ref _sequence):x}";
        var ev = new JsonObject
        {
            ["apiVersion"] = "events.k8s.io/v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = draft.Namespace },
            ["eventTime"] = RolloutLease.FormatMicroTime(now),
            ["reportingController"] = ReportingController,
            ["reportingInstance"] = _instance,
            ["action"] = draft.Action,
            ["reason"] = draft.Reason,
            ["type"] = draft.Type,
            ["regarding"] = regarding.DeepClone(),
            ["note"] = Truncate(draft.Note),
        };
        await _api.CreateAsync(EventType, draft.Namespace, ev).ConfigureAwait(false);
        _recent[draft] = new Recorded(name, now);
    }

    private async Task WriteDueSeriesAsync(bool force)
    {
        var now = _clock.GetUtcNow();
        foreach (var (draft, seen) in _recent.ToList())
            if (seen.Count > seen.CountWritten && (force || now - seen.LastWritten >= SeriesRefresh))
                await WriteSeriesAsync(draft, seen).ConfigureAwait(false);
    }

    private async Task WriteSeriesAsync(KubernetesEventDraft draft, Recorded seen)
    {
        var patch = new MergePatch(new JsonObject
        {
            ["series"] = new JsonObject { ["count"] = seen.Count, ["lastObservedTime"] = RolloutLease.FormatMicroTime(seen.LastObserved) },
        });
        var count = seen.Count;
        await _api.PatchAsync(EventType, draft.Namespace, seen.Name, patch).ConfigureAwait(false);
        seen.CountWritten = count;
        seen.LastWritten = _clock.GetUtcNow();
    }

    /// <summary>The rollout's stable Deployment as an object reference (uid included, which <c>kubectl describe</c> matches on); read once per rollout.</summary>
    private async Task<JsonObject?> RegardingAsync(string ns, string rollout)
    {
        if (_regarding.TryGetValue((ns, rollout), out var known)) return known;
        JsonObject? reference = null;
        if (await new RolloutStateStore(_api).TryLoadAsync(ns, rollout).ConfigureAwait(false) is { } stored)
        {
            var deployment = stored.ParseSpec().StableDeployment;
            var uid = (await _api.GetAsync(ResourceType.Deployment, ns, deployment).ConfigureAwait(false))["metadata"]?["uid"]?.GetValue<string>();
            reference = new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["namespace"] = ns, ["name"] = deployment };
            if (uid is not null) reference["uid"] = uid;
        }
        _regarding[(ns, rollout)] = reference;
        return reference;
    }

    private static string Truncate(string note)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(note) <= MaxNoteBytes) return note;
        var cut = note[..Math.Min(note.Length, MaxNoteBytes - 4)];
        while (System.Text.Encoding.UTF8.GetByteCount(cut) > MaxNoteBytes - 4) cut = cut[..^1];
        return cut + "...";
    }

    /// <summary>Writes what is queued and the series counts still pending, then stops (bounded: a dead API server does not hold the host's exit).</summary>
    public async ValueTask DisposeAsync()
    {
        await _refresh.DisposeAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await Task.WhenAny(_writer, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
    }

    /// <summary>Waits until everything queued so far has been written (tests; a host that wants its Events out before it reports).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Waits for room rather than dropping: a flush must not be lost to a full queue.
        await _queue.Writer.WriteAsync(new QueueItem(null, done), ct).ConfigureAwait(false);
        await done.Task.WaitAsync(ct).ConfigureAwait(false);
    }
}
