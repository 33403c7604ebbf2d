using Kubestead.Analysis;

namespace Kubestead.Metrics;

/// <summary>
/// The control's history as windows (<see cref="IControlHistory"/>): cumulative counters read at consecutive points (a
/// range query's steps), differenced pod by pod between each pair. It follows <see cref="CounterSeriesDiff"/>'s rules
/// and is stricter where a judged window must not be: a judged window has to count every request, so it counts a reset
/// series' end value and a pod that started inside it; a history window only teaches how far each pod's rate strays, and
/// a part-window count would teach it wrong. So a pod is counted in a window only when it has series at both edges and
/// none of its series dropped or vanished: a restart (a counter reset), a pod appearing or vanishing (series at one edge
/// only) leave that pod out of that window, never read as lifetime totals. A series born inside the window of a pod that
/// had series at its start counts from zero (Envoy, Linkerd and ingress-nginx create a series at its first event, e.g. a
/// pod's first 503). A window in which no pod could be counted is left out.
/// </summary>
public static class ControlHistoryWindows
{
    /// <param name="requests">The requests query's vectors by evaluation time (unix ms), as <c>QueryRangeAsync</c> returns them.</param>
    /// <param name="failures">The failures query's vectors at the same times.</param>
    /// <param name="first">The first point: window i runs from first + i·interval to first + (i+1)·interval.</param>
    public static IReadOnlyList<MetricWindow> FromPoints(
        IReadOnlyDictionary<long, IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> requests,
        IReadOnlyDictionary<long, IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> failures,
        DateTimeOffset first, TimeSpan interval, int windows)
    {
        var result = new List<MetricWindow>();
        // A range answer shares one label set per series across its points: its key and pod are worked out once per series
        // (by reference), not once per point and window (six hours at 15 s steps is 1,441 points a series).
        var names = new Dictionary<IReadOnlyDictionary<string, string>, (string Key, string Pod)>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < windows; i++)
        {
            var start = first + interval * i;
            var end = start + interval;
            var pods = Pods(At(requests, start), At(requests, end), At(failures, start), At(failures, end), names);
            if (pods.Count == 0) continue;
            result.Add(new MetricWindow(start, end, VersionSample.Empty,
                new VersionSample(pods.Sum(p => p.Requests), pods.Sum(p => p.Failures), null, pods)));
        }
        return result;
    }

    private static IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> At(
        IReadOnlyDictionary<long, IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> points, DateTimeOffset at) =>
        points.TryGetValue(at.ToUnixTimeMilliseconds(), out var vector) ? vector : [];

    /// <summary>The pods counted whole in one window, in pod order.</summary>
    private static List<PodSample> Pods(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> requestsAtStart,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> requestsAtEnd,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> failuresAtStart,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> failuresAtEnd,
        Dictionary<IReadOnlyDictionary<string, string>, (string Key, string Pod)> names)
    {
        var scrapedAtStart = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (labels, _) in requestsAtStart) scrapedAtStart.Add(Name(labels, names).Pod);
        var requests = ByPod(requestsAtStart, requestsAtEnd, scrapedAtStart, names);
        // A pod's requests were read at the start: a failure series of it born since counts from zero.
        var failures = ByPod(failuresAtStart, failuresAtEnd, scrapedAtStart, names);
        var pods = new List<PodSample>();
        foreach (var (pod, served) in requests.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (served is not { } r) continue;
            var failed = failures.TryGetValue(pod, out var f) ? f : 0;
            if (failed is not { } n) continue;
            var requestCount = (long)Math.Round(r);
            pods.Add(new PodSample(pod, requestCount, Math.Min((long)Math.Round(n), requestCount)));
        }
        return pods;
    }

    /// <summary>
    /// Each pod's increase between the two edges, or null for a pod that cannot be counted whole: a series that dropped or
    /// vanished, a pod with series at the end only. A series born inside the window counts from zero when its pod is in
    /// <paramref name="scrapedAtStart"/>.
    /// </summary>
    private static Dictionary<string, double?> ByPod(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> start,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> end,
        IReadOnlySet<string> scrapedAtStart,
        Dictionary<IReadOnlyDictionary<string, string>, (string Key, string Pod)> names)
    {
        var before = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (labels, value) in start)
            if (double.IsFinite(value)) before[Name(labels, names).Key] = value;
        var pods = new Dictionary<string, double?>(StringComparer.Ordinal);
        var seenAtEnd = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (labels, value) in end)
        {
            var (key, pod) = Name(labels, names);
            seenAtEnd.Add(key);
            double? increase = !double.IsFinite(value) ? null
                : before.TryGetValue(key, out var old) ? (value >= old ? value - old : null)
                : scrapedAtStart.Contains(pod) ? value
                : null;
            pods[pod] = pods.TryGetValue(pod, out var sum) ? sum + increase : increase;
        }
        // A series at the start only: its pod vanished (or missed this scrape), or the series did.
        foreach (var (labels, value) in start)
            if (double.IsFinite(value) && Name(labels, names) is var (key, pod) && !seenAtEnd.Contains(key))
                pods[pod] = null;
        return pods;
    }

    private static (string Key, string Pod) Name(IReadOnlyDictionary<string, string> labels,
        Dictionary<IReadOnlyDictionary<string, string>, (string Key, string Pod)> names)
    {
        if (!names.TryGetValue(labels, out var name))
            names[labels] = name = (CounterSeriesDiff.SeriesKey(labels), CounterSeriesDiff.PodOf(labels));
        return name;
    }
}
