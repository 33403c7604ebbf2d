using System.Collections.Concurrent;
using System.Globalization;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Cli;

/// <summary>
/// Prints engine events as timestamped lines (rollout time, which is virtual in the demo). Waiting lines are throttled
/// to one per 30 s of rollout time per activity so CI logs stay readable. Events carry no secrets.
/// </summary>
public sealed class CliObserver(TextWriter writer, bool verbose, CiReporter? ci) : IRolloutObserver
{
    private static readonly TimeSpan WaitingEvery = TimeSpan.FromSeconds(30);
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastWaiting = new();
    private readonly Dictionary<string, Analysis.VerdictOutcome> _lastOutcome = new();
    private DateTimeOffset? _lastWarmup;

    public List<RolloutEvent> Seen { get; } = new();

    public void OnEvent(RolloutEvent e)
    {
        lock (_gate)
        {
            Seen.Add(e);
            ci?.OnEvent(e);
            switch (e)
            {
                case WaitingEvent w:
                    if (_lastWaiting.TryGetValue(w.Activity, out var last) && w.At - last < WaitingEvery) return;
                    _lastWaiting[w.Activity] = w.At;
                    break;
                case VerboseEvent when !verbose:
                    return;
                case VerdictEvent v when !verbose:
                    // A verdict is news when it changes; every window's repeat is shown with --verbose only.
                    var changed = !_lastOutcome.TryGetValue(v.Verdict.Metric, out var before) || before != v.Verdict.Outcome;
                    _lastOutcome[v.Verdict.Metric] = v.Verdict.Outcome;
                    if (!changed) return;
                    break;
                case BackgroundVerdictEvent b when !verbose:
                    var key = "background:" + b.Verdict.Metric;
                    var news = !_lastOutcome.TryGetValue(key, out var was) || was != b.Verdict.Outcome;
                    _lastOutcome[key] = b.Verdict.Outcome;
                    if (!news) return;
                    break;
                case WarmupWindowEvent w when !verbose:
                    // One line per warm-up, not one per window.
                    if (_lastWarmup == w.WarmupUntil) return;
                    _lastWarmup = w.WarmupUntil;
                    break;
            }
            var prefix = e is WarningEvent ? "warning: " : "";
            writer.WriteLine($"{e.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {e.Namespace}/{e.Rollout} {prefix}{e.Message}");
            writer.Flush();
        }
    }
}
