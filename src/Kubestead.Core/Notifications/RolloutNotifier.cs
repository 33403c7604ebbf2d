using System.Threading.Channels;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Notifications;

/// <summary>
/// The observer a drive (or a one-shot command) reports to when its rollout has sinks: it passes every event on to the
/// host's observer and queues the ones people are told about. One background loop sends them in order, so the engine
/// never waits on a webhook; a message that cannot be delivered becomes a warning now and a history entry when the
/// drive closes the notifier (<see cref="CloseAsync"/>). A failed notification never fails or blocks the rollout.
/// </summary>
public sealed class RolloutNotifier : IRolloutObserver, IAsyncDisposable
{
    public const string FailedHistoryKind = "notificationFailed";

    private readonly IRolloutObserver _inner;
    private readonly IReadOnlyList<ResolvedSink> _sinks;
    private readonly NotificationDelivery? _delivery;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _clock;
    private readonly string _driver;
    private readonly string _namespace;
    private readonly string _rollout;
    private readonly Channel<(ResolvedSink Sink, RolloutNotification Message)> _queue =
        Channel.CreateUnbounded<(ResolvedSink, RolloutNotification)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RolloutHistoryEntry> _failures = new();
    private readonly Task _pump;
    private bool _closed;

    internal RolloutNotifier(IRolloutObserver inner, IReadOnlyList<ResolvedSink> sinks, IReadOnlyList<string> setupFailures,
        NotificationDelivery? delivery, NotificationOptions options, TimeProvider clock, string driver, string ns, string rollout)
    {
        _namespace = ns;
        _rollout = rollout;
        _inner = inner;
        _sinks = sinks;
        _delivery = delivery;
        _options = options;
        _clock = clock;
        _driver = driver;
        foreach (var f in setupFailures) _failures.Add(Entry(f));
        _pump = sinks.Count == 0 ? Task.CompletedTask : Task.Run(PumpAsync);
    }

    /// <summary>Messages not delivered so far (also the sinks that could not be set up), as history entries.</summary>
    public IReadOnlyList<RolloutHistoryEntry> Failures
    {
        get
        {
            lock (_failures) return _failures.ToList();
        }
    }

    public void OnEvent(RolloutEvent e)
    {
        try
        {
            _inner.OnEvent(e);
        }
        catch (Exception)
        {
            // The host's observer must not throw; if it does, the notification still goes.
        }
        if (_sinks.Count == 0 || _closed || NotificationMapper.From(e, _options.ReportUrl) is not { } n) return;
        foreach (var sink in _sinks)
            if (sink.Wants(n)) _queue.Writer.TryWrite((sink, n));
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var (sink, message) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                string? failure;
                try
                {
                    failure = await _delivery!.SendAsync(sink, message, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    failure = $"notification '{message.Event}' to {sink} not delivered: the drive ended while it was being sent";
                }
                if (failure is not null) Fail(failure);
                if (_stop.IsCancellationRequested) break;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closed past its flush timeout: what is left in the queue is counted below.
        }
        var dropped = 0;
        while (_queue.Reader.TryRead(out _)) dropped++;
        if (dropped > 0) Fail($"{dropped} notification{(dropped == 1 ? "" : "s")} not sent: the drive ended before they could be");
    }

    private void Fail(string text)
    {
        lock (_failures) _failures.Add(Entry(text));
        try
        {
            _inner.OnEvent(new WarningEvent(_clock.GetUtcNow(), _namespace, _rollout, text));
        }
        catch (Exception)
        {
            // See OnEvent.
        }
    }

    private RolloutHistoryEntry Entry(string text) => new(_clock.GetUtcNow(), _driver, FailedHistoryKind, text);

    /// <summary>
    /// Sends what is queued (waiting at most the flush timeout), then records every undelivered message in the rollout's
    /// history in one write. Returns the rollout as stored after that write, or <paramref name="stored"/> when nothing
    /// had to be written or the write failed (a failed record must not turn a finished drive into an error).
    /// </summary>
    public async Task<StoredRollout> CloseAsync(StoredRollout stored, RolloutStateStore store)
    {
        await FlushAsync(_options.FlushTimeout).ConfigureAwait(false);
        var failures = Failures;
        if (failures.Count == 0) return stored;
        using var write = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return await store.UpdateAsync(stored.Namespace, stored.Name, s => failures.Aggregate(s, (acc, f) => acc.WithHistory(f)), _clock, write.Token)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubesteadException or Kubestead.Kubernetes.KubernetesApiException or OperationCanceledException or HttpRequestException)
        {
            return stored;
        }
    }

    private async Task FlushAsync(TimeSpan timeout)
    {
        if (_closed) return;
        _closed = true;
        _queue.Writer.TryComplete();
        try
        {
            await _pump.WaitAsync(timeout, _options.RetryClock).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _pump.ConfigureAwait(false);
        }
    }

    /// <summary>For paths that end without <see cref="CloseAsync"/> (an exception): send what can be sent quickly; nothing is recorded.</summary>
    public async ValueTask DisposeAsync()
    {
        await FlushAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }
}
