namespace Kubestead.Metrics;

/// <summary>
/// Differences cumulative counters series by series. A sum over pods drops whenever one pod's series disappears (a
/// failed scrape, a pod scaled down, evicted or replaced), and reading that drop as a reset would count the surviving
/// pods' lifetime totals as one window's traffic (issue #18). So each series (one label set) is differenced on its own:
/// it counts only if present at both edges; a drop inside a series is a reset of that series, which then counts its
/// end value (what it served since the restart); series present at one edge only are left out.
/// </summary>
public static class CounterSeriesDiff
{
    public static IReadOnlyDictionary<string, double> Diff(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> start,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> end,
        Func<IReadOnlyDictionary<string, string>, string>? groupBy = null)
    {
        var before = new Dictionary<string, double>();
        foreach (var (labels, value) in start)
            if (double.IsFinite(value)) before[Key(labels)] = value;
        var result = new Dictionary<string, double>();
        foreach (var (labels, value) in end)
        {
            if (!double.IsFinite(value) || !before.TryGetValue(Key(labels), out var old)) continue;
            var delta = value >= old ? value - old : value;
            var group = groupBy?.Invoke(labels) ?? "";
            result[group] = result.GetValueOrDefault(group) + delta;
        }
        return result;
    }

    /// <summary>The sum of every series' difference.</summary>
    public static double Total(
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> start,
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> end) => Diff(start, end).Values.Sum();

    private static string Key(IReadOnlyDictionary<string, string> labels) =>
        string.Join("\u0001", labels.Where(l => l.Key != "__name__").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
}
