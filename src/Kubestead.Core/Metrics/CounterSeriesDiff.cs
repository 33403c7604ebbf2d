namespace Kubestead.Metrics;

/// <summary>
/// Differences cumulative counters series by series. A sum over pods drops whenever one pod's series disappears (a
/// failed scrape, a pod scaled down, evicted or replaced), and reading that drop as a reset would count the surviving
/// pods' lifetime totals as one window's traffic (issue #18). So each series (one label set) is differenced on its own:
/// a drop inside a series is a reset of that series, which then counts its end value (what it served since the restart);
/// a series present at the start only is left out.
/// A series present at the end only counts from zero when its pod was scraped at the window's start (the pod had other
/// series then), because Envoy, Linkerd and ingress-nginx create a series at its first event: a canary's
/// <c>response_code="503"</c> series is born at its first failure (issue #25). A series of a pod that had no series at
/// the start is left out: that pod may have been missed by the start's scrape, and its value may hold earlier traffic.
/// </summary>
public static class CounterSeriesDiff
{
    /// <param name="knownPods">
    /// Pods known to have been scraped at the window's start besides those in <paramref name="start"/> (a failures
    /// query's pods are known from the requests query that covers them).
    /// </param>
    public static IReadOnlyDictionary<string, double> Diff(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> start,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> end,
        Func<IReadOnlyDictionary<string, string>, string>? groupBy = null,
        IReadOnlySet<string>? knownPods = null)
    {
        var before = new Dictionary<string, double>();
        foreach (var (labels, value) in start)
            if (double.IsFinite(value)) before[SeriesKey(labels)] = value;
        var scraped = Pods(start);
        var result = new Dictionary<string, double>();
        foreach (var (labels, value) in end)
        {
            if (!double.IsFinite(value)) continue;
            double delta;
            if (before.TryGetValue(SeriesKey(labels), out var old)) delta = value >= old ? value - old : value;
            else if (scraped.Contains(PodOf(labels)) || knownPods?.Contains(PodOf(labels)) == true) delta = value;
            else continue;
            var group = groupBy?.Invoke(labels) ?? "";
            result[group] = result.GetValueOrDefault(group) + delta;
        }
        return result;
    }

    /// <summary>The sum of every series' difference.</summary>
    public static double Total(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> start,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> end,
        IReadOnlySet<string>? knownPods = null) => Diff(start, end, null, knownPods).Values.Sum();

    /// <summary>The pods that have a series in <paramref name="series"/>.</summary>
    public static IReadOnlySet<string> Pods(IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> series) =>
        series.Select(s => PodOf(s.Labels)).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The scraped pod a series comes from: Prometheus's <c>pod</c> label, else the older <c>kubernetes_pod_name</c>, else
    /// the scrape target (<c>instance</c>); a result with none of them (already summed across pods) is one source.
    /// </summary>
    public static string PodOf(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue("pod", out var pod) ? pod
        : labels.TryGetValue("kubernetes_pod_name", out var old) ? old
        : labels.TryGetValue("instance", out var instance) ? instance
        : "";

    /// <summary>What tells one series from another: its labels without the metric name (a function's result drops it).</summary>
    public static string SeriesKey(IReadOnlyDictionary<string, string> labels) =>
        string.Join("\u0001", labels.Where(l => l.Key != "__name__").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
}
