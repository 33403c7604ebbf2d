using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Kayenta-style judge: the per-window failure rates of canary and control as two samples, compared with a Mann-Whitney
/// test. A fixed-sample test re-run after every window inflates its error rate (issue #18 measured 4-12% false aborts
/// against a nominal 2%), so it is run only at pre-declared looks (<see cref="Looks"/> windows with canary traffic) and
/// each look gets (1 - confidence) / looks (Bonferroni). Ranks of raw rates test "canary rate above control rate in most
/// windows", not a rate ratio: a small canary beside a large control fails good canaries far above the nominal level
/// (issue #29: about 9% with one expected canary failure a window). So each window's two counts are first brought to
/// the same exposure and the canary's thinned by the ratio under test (<see cref="EqualExposureSample"/>): the ranks then
/// test the rate ratio, and over the whole analysis a good canary fails with probability at most 1 - confidence when
/// failures are independent given each window's rate (windows whose rates differ make the test conservative). A
/// non-significant result is not evidence of health: <b>Pass</b> needs its own test, that the canary's rate is
/// significantly below <c>detectRatio</c> times control's (one-sided, at the same split level); anything else is
/// InsufficientData. Keeps the last 120 windows.
/// </summary>
public sealed class MannWhitneyJudge(string metric, double confidence = 0.98, double allowedIncrease = 1.0,
    TestDirection direction = TestDirection.Increase, double detectRatio = 5) : ICanaryJudge
{
    /// <summary>The numbers of windows with canary traffic at which the test is run.</summary>
    public static readonly IReadOnlyList<int> Looks = [10, 20, 40, 80, 120];

    private const int MaxWindows = 120;
    private const ulong FailSalt = 0x6661696C;
    private const ulong PassSalt = 0x70617373;
    private readonly List<(long Nc, long Xc, long Ns, long Xs)> _windows = new();
    private int _seen;
    private Verdict? _lastLook;

    public string Name => "mann-whitney";

    /// <summary>One minus the chance of failing a good canary over the whole analysis (the gate's share, see <see cref="JudgeFactory.CreateGate"/>).</summary>
    public double Confidence => confidence;

    public string Metric { get; } = metric;

    public void Observe(MetricWindow w)
    {
        if (w.Canary.Requests == 0 || w.Control.Requests == 0) return;
        _windows.Add((w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures));
        _seen++;
        if (_windows.Count > MaxWindows) _windows.RemoveAt(0);
        if (Looks.Contains(_seen)) _lastLook = Look();
    }

    public Verdict Evaluate()
    {
        // A decision taken at a look stands; between looks nothing new is tested.
        if (_lastLook is { Outcome: VerdictOutcome.Fail or VerdictOutcome.Pass } decided) return decided;
        long nc = _windows.Sum(w => w.Nc), xc = _windows.Sum(w => w.Xc), ns = _windows.Sum(w => w.Ns), xs = _windows.Sum(w => w.Xs);
        var next = Looks.FirstOrDefault(l => l > _seen);
        var why = _lastLook is { } last ? last.Summary + "; " : "";
        return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, nc, xc, ns, xs, _lastLook?.Statistic, _lastLook?.PValue, null, _lastLook?.Effect,
            next == 0
                ? $"{why}insufficient data: no look left after {_seen} windows"
                : $"{why}insufficient data: {_seen} windows with canary traffic; the next test is at {next}");
    }

    private Verdict Look()
    {
        long nc = _windows.Sum(w => w.Nc), xc = _windows.Sum(w => w.Xc), ns = _windows.Sum(w => w.Ns), xs = _windows.Sum(w => w.Xs);
        var level = (1 - confidence) / Looks.Count;
        var canary = _windows.Select(w => (double)w.Xc / w.Nc).ToList();
        var control = _windows.Select(w => (double)w.Xs / w.Ns).ToList();
        var ratio = control.Average() > 0 ? canary.Average() / control.Average() : (canary.Average() > 0 ? double.PositiveInfinity : 1);
        var (u, p) = Ranked(allowedIncrease, FailSalt, direction);
        string L(double x) => x.ToString("0.#####", CultureInfo.InvariantCulture);
        if (p < level && ratio > allowedIncrease)
            return new Verdict(Name, Metric, VerdictOutcome.Fail, nc, xc, ns, xs, u, p, null, ratio,
                $"canary failure rate per window is higher (Mann-Whitney U={u:0.#}, p={L(p)} < {L(level)} at look {_seen}, {ratio:0.##}x control)");
        var (uPass, pPass) = Ranked(detectRatio, PassSalt, TestDirection.Decrease);
        if (pPass < level)
            return new Verdict(Name, Metric, VerdictOutcome.Pass, nc, xc, ns, xs, uPass, pPass, null, ratio,
                $"canary failure rate per window is below {detectRatio:0.##}x control's (U={uPass:0.#}, p={L(pPass)} < {L(level)} at look {_seen})");
        return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, nc, xc, ns, xs, u, p, null, ratio,
            $"look {_seen}: neither worse (p={L(p)}) nor shown below {detectRatio:0.##}x control (p={L(pPass)}) at level {L(level)}");
    }

    /// <summary>Mann-Whitney on the windows brought to equal exposure, the canary's failures thinned by <paramref name="ratio"/>.</summary>
    private (double U, double P) Ranked(double ratio, ulong salt, TestDirection test)
    {
        var first = _seen - _windows.Count;
        var pairs = _windows.Select((w, i) => EqualExposureSample.Draw(w.Nc, w.Xc, w.Ns, w.Xs, ratio, first + i, salt)).ToList();
        return MannWhitneyTest.Run(pairs.Select(x => x.Canary).ToList(), pairs.Select(x => x.Control).ToList(), test);
    }

    public JsonObject SaveState()
    {
        var o = new JsonObject
        {
            ["windows"] = new JsonArray(_windows.Select(w => (JsonNode?)new JsonArray(w.Nc, w.Xc, w.Ns, w.Xs)).ToArray()),
            ["seen"] = _seen,
        };
        if (_lastLook is { } v)
            o["look"] = new JsonObject
            {
                ["outcome"] = v.Outcome.ToString(), ["u"] = v.Statistic, ["p"] = v.PValue, ["effect"] = v.Effect, ["summary"] = v.Summary,
                ["counts"] = new JsonArray(v.CanaryRequests, v.CanaryFailures, v.ControlRequests, v.ControlFailures),
            };
        return o;
    }

    public void RestoreState(JsonObject state)
    {
        _windows.Clear();
        _lastLook = null;
        if (state["windows"] is JsonArray a)
            foreach (var w in a.OfType<JsonArray>())
                _windows.Add((w[0]!.GetValue<long>(), w[1]!.GetValue<long>(), w[2]!.GetValue<long>(), w[3]!.GetValue<long>()));
        _seen = state["seen"]?.GetValue<int>() ?? _windows.Count;
        if (state["look"] is JsonObject l && l["counts"] is JsonArray c && Enum.TryParse<VerdictOutcome>(l["outcome"]?.GetValue<string>(), out var outcome))
            _lastLook = new Verdict(Name, Metric, outcome, c[0]!.GetValue<long>(), c[1]!.GetValue<long>(), c[2]!.GetValue<long>(), c[3]!.GetValue<long>(),
                l["u"]?.GetValue<double>(), l["p"]?.GetValue<double>(), null, l["effect"]?.GetValue<double>(), l["summary"]?.GetValue<string>() ?? "");
    }
}
