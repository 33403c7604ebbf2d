using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Kayenta-style judge: the per-window failure rates of canary and control as two samples, compared with a Mann-Whitney
/// test at a confidence (default 0.98) in a direction, failing only when the canary's mean is also above the allowed
/// ratio of control's. Needs several windows with canary traffic; until then InsufficientData. Keeps the last 120 windows.
/// </summary>
public sealed class MannWhitneyJudge(string metric, double confidence = 0.98, double allowedIncrease = 1.0, TestDirection direction = TestDirection.Increase)
    : ICanaryJudge
{
    private const int MinWindows = 5;
    private const int MaxWindows = 120;
    private readonly List<(long Nc, long Xc, long Ns, long Xs)> _windows = new();

    public string Name => "mann-whitney";

    public string Metric { get; } = metric;

    public void Observe(MetricWindow w)
    {
        if (w.Canary.Requests == 0 || w.Control.Requests == 0) return;
        _windows.Add((w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures));
        if (_windows.Count > MaxWindows) _windows.RemoveAt(0);
    }

    public Verdict Evaluate()
    {
        long nc = _windows.Sum(w => w.Nc), xc = _windows.Sum(w => w.Xc), ns = _windows.Sum(w => w.Ns), xs = _windows.Sum(w => w.Xs);
        if (_windows.Count < MinWindows)
            return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, nc, xc, ns, xs, null, null, null, null,
                $"insufficient data: {_windows.Count} of {MinWindows} windows with canary traffic");
        var canary = _windows.Select(w => (double)w.Xc / w.Nc).ToList();
        var control = _windows.Select(w => (double)w.Xs / w.Ns).ToList();
        var (u, p) = MannWhitneyTest.Run(canary, control, direction);
        var ratio = control.Average() > 0 ? canary.Average() / control.Average() : (canary.Average() > 0 ? double.PositiveInfinity : 1);
        var significant = p < 1 - confidence;
        var fail = significant && ratio > allowedIncrease;
        return new Verdict(Name, Metric, fail ? VerdictOutcome.Fail : VerdictOutcome.Pass, nc, xc, ns, xs, u, p, null, ratio,
            fail
                ? $"canary failure rate per window is higher (Mann-Whitney U={u:0.#}, p={p:0.####} < {1 - confidence:0.##}, {ratio:0.##}x control)"
                : $"no significant increase over {_windows.Count} windows (U={u:0.#}, p={p:0.####})");
    }

    public JsonObject SaveState() => new()
    {
        ["windows"] = new JsonArray(_windows.Select(w => (JsonNode?)new JsonArray(w.Nc, w.Xc, w.Ns, w.Xs)).ToArray()),
    };

    public void RestoreState(JsonObject state)
    {
        _windows.Clear();
        if (state["windows"] is not JsonArray a) return;
        foreach (var w in a.OfType<JsonArray>())
            _windows.Add((w[0]!.GetValue<long>(), w[1]!.GetValue<long>(), w[2]!.GetValue<long>(), w[3]!.GetValue<long>()));
    }
}
