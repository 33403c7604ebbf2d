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
    /// <param name="requests">The requests query's series, each with a point per edge (<c>QueryRangeSeriesAsync</c>).</param>
    /// <param name="failures">The failures query's series at the same edges.</param>
    /// <param name="first">The first edge: window i runs from first + i·interval to first + (i+1)·interval.</param>
    public static IReadOnlyList<MetricWindow> FromSeries(IReadOnlyList<RangeSeries> requests, IReadOnlyList<RangeSeries> failures,
        DateTimeOffset first, TimeSpan interval, int windows)
    {
        // Each series' pod is worked out once (six hours at 15 s steps is 1,441 points a series), and the pods are
        // numbered in the order windows list them, so a window's differencing is array arithmetic over its two edges.
        var requestPods = requests.Select(s => CounterSeriesDiff.PodOf(s.Labels)).ToArray();
        var failurePods = failures.Select(s => CounterSeriesDiff.PodOf(s.Labels)).ToArray();
        var pods = requestPods.Concat(failurePods).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = pods.Select((pod, p) => (pod, p)).ToDictionary(x => x.pod, x => x.p, StringComparer.Ordinal);
        var requestPod = Array.ConvertAll(requestPods, pod => index[pod]);
        var failurePod = Array.ConvertAll(failurePods, pod => index[pod]);
        var scrapedAtStart = new bool[pods.Length];
        var served = new Increases(pods.Length);
        var failed = new Increases(pods.Length);
        var result = new List<MetricWindow>();
        for (var i = 0; i < windows; i++)
        {
            Array.Clear(scrapedAtStart);
            for (var j = 0; j < requests.Count; j++)
                if (requests[j].Present[i]) scrapedAtStart[requestPod[j]] = true;
            served.Window(requests, requestPod, i, scrapedAtStart);
            // A pod's requests were read at the start: a failure series of it born since counts from zero.
            failed.Window(failures, failurePod, i, scrapedAtStart);
            List<PodSample>? counted = null;
            long requestTotal = 0, failureTotal = 0;
            for (var p = 0; p < pods.Length; p++)
            {
                if (served.State[p] != Increases.Counted) continue;
                if (failed.State[p] == Increases.Lost) continue;
                var requestCount = (long)Math.Round(served.Sum[p]);
                var failureCount = failed.State[p] == Increases.Counted ? Math.Min((long)Math.Round(failed.Sum[p]), requestCount) : 0;
                (counted ??= new List<PodSample>()).Add(new PodSample(pods[p], requestCount, failureCount));
                requestTotal += requestCount;
                failureTotal += failureCount;
            }
            if (counted is null) continue;
            var start = first + interval * i;
            result.Add(new MetricWindow(start, start + interval, VersionSample.Empty, new VersionSample(requestTotal, failureTotal, null, counted)));
        }
        return result;
    }

    /// <summary>
    /// Each pod's increase over one window, or <see cref="Lost"/> for a pod that cannot be counted whole: a series that
    /// dropped or vanished, a pod with series at the end only. A series born inside the window counts from zero when its
    /// pod was scraped at the start.
    /// </summary>
    private sealed class Increases(int pods)
    {
        public const byte None = 0, Counted = 1, Lost = 2;
        public readonly double[] Sum = new double[pods];
        public readonly byte[] State = new byte[pods];

        /// <summary>The window from edge <paramref name="i"/> to edge i + 1.</summary>
        public void Window(IReadOnlyList<RangeSeries> series, int[] podOf, int i, bool[] scrapedAtStart)
        {
            Array.Clear(State);
            for (var j = 0; j < series.Count; j++)
            {
                var s = series[j];
                if (!s.Present[i + 1]) continue;
                var value = s.Values[i + 1];
                var p = podOf[j];
                double increase;
                bool counted;
                if (!double.IsFinite(value)) (counted, increase) = (false, 0);
                else if (s.Present[i] && double.IsFinite(s.Values[i])) (counted, increase) = (value >= s.Values[i], value - s.Values[i]);
                else (counted, increase) = (scrapedAtStart[p], value);
                if (State[p] == None) (State[p], Sum[p]) = (counted ? Counted : Lost, counted ? increase : 0);
                else if (State[p] == Counted)
                {
                    if (counted) Sum[p] += increase;
                    else State[p] = Lost;
                }
            }
            // A series at the start only: its pod vanished (or missed this scrape), or the series did.
            for (var j = 0; j < series.Count; j++)
                if (series[j].Present[i] && double.IsFinite(series[j].Values[i]) && !series[j].Present[i + 1])
                    State[podOf[j]] = Lost;
        }
    }
}
