using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Flagger/Argo-style checks on the latest window: success rate at least <c>MinSuccessRatePercent</c> and p99 at most
/// <c>MaxP99Ms</c>. Unlike Flagger, a window with fewer canary requests than <c>minRequests</c> is InsufficientData, not a
/// verdict: one successful request is not "100% success", and a p99 of five samples is their maximum. Such a window still
/// fails when its failures alone already break the success-rate threshold at <c>minRequests</c> requests.
/// </summary>
public sealed class ThresholdJudge(string metric, double? minSuccessRatePercent, double? maxP99Ms, long? minRequests = null) : ICanaryJudge
{
    private MetricWindow? _last;

    /// <summary>The canary requests a window needs before its rate or p99 means anything (see <see cref="DefaultMinRequests"/>).</summary>
    public long MinRequests { get; } = minRequests ?? DefaultMinRequests(minSuccessRatePercent, maxP99Ms);

    /// <summary>
    /// Enough requests that one failure moves the success rate by no more than the allowed failure share (100 at 99%,
    /// 20 at 95%), and 100 when a p99 is judged (the 99th percentile of fewer samples is their largest).
    /// </summary>
    public static long DefaultMinRequests(double? minSuccessRatePercent, double? maxP99Ms)
    {
        long n = 1;
        if (minSuccessRatePercent is { } s)
            n = s >= 100 ? 100 : (long)Math.Ceiling(100.0 / (100.0 - s) - 1e-9);
        if (maxP99Ms is not null) n = Math.Max(n, 100);
        return Math.Clamp(n, 1, 100_000);
    }

    public string Name => "threshold";

    public string Metric { get; } = metric;

    public void Observe(MetricWindow window) => _last = window;

    public Verdict Evaluate()
    {
        if (_last is not { } w || w.Canary.Requests == 0)
            return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, 0, 0, _last?.Control.Requests ?? 0, _last?.Control.Failures ?? 0,
                null, null, null, null, "insufficient data: the canary served no request in the last window");
        var rate = 100.0 * (w.Canary.Requests - w.Canary.Failures) / w.Canary.Requests;
        if (w.Canary.Requests < MinRequests)
        {
            // Failures that break the threshold even if every request up to MinRequests succeeded decide already.
            var brokenAtMinimum = minSuccessRatePercent is { } m && 100.0 * (MinRequests - w.Canary.Failures) / MinRequests < m;
            if (!brokenAtMinimum)
                return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures,
                    rate, null, null, null,
                    $"insufficient data: {w.Canary.Requests} canary requests in the last window, {MinRequests} needed (threshold.minRequests)");
        }
        double? p99 = w.Canary.Latency is { Total: > 0 } h ? SequentialLatencyJudge.Quantile(h, 0.99) : null;
        var problems = new List<string>();
        if (minSuccessRatePercent is { } min && rate < min)
            problems.Add($"success rate {rate.ToString("0.###", CultureInfo.InvariantCulture)}% < {min}%");
        if (maxP99Ms is { } max && p99 is { } p && p > max)
            problems.Add($"p99 {p.ToString("0.#", CultureInfo.InvariantCulture)} ms > {max} ms");
        var outcome = problems.Count > 0 ? VerdictOutcome.Fail : VerdictOutcome.Pass;
        var summary = problems.Count > 0
            ? string.Join("; ", problems) + $" in the last window ({w.Canary.Requests} canary requests)"
            : $"success rate {rate.ToString("0.###", CultureInfo.InvariantCulture)}%" + (p99 is { } q ? $", p99 {q:0.#} ms" : "") + $" over {w.Canary.Requests} canary requests";
        return new Verdict(Name, Metric, outcome, w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures,
            rate, null, null, p99, summary);
    }

    public JsonObject SaveState() => _last is null
        ? new JsonObject()
        : new JsonObject
        {
            ["nc"] = _last.Canary.Requests, ["xc"] = _last.Canary.Failures, ["ns"] = _last.Control.Requests, ["xs"] = _last.Control.Failures,
        };

    public void RestoreState(JsonObject state)
    {
        // An empty state is a judge that has seen nothing (a new analysis step starts its judges that way).
        if (state["nc"] is null)
        {
            _last = null;
            return;
        }
        _last = new MetricWindow(default, default,
            new VersionSample(state["nc"]!.GetValue<long>(), state["xc"]!.GetValue<long>()),
            new VersionSample(state["ns"]!.GetValue<long>(), state["xs"]!.GetValue<long>()));
    }
}
