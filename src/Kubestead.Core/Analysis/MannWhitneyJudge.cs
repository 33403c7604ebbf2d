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
/// <para>
/// Persistent pod effects (issue #29): a canary pod that keeps its own failure rate for minutes makes the canary's
/// windows high (or low) together, which ranks a good canary above control (12.8% false aborts at one CV 1.0 canary pod,
/// 50% weight, 20 rps; a 5x canary promoted 22%). So each window is compared at the null the sequential judges use: the
/// ratio widened by the band the control's own pods show (<see cref="PodPersistence"/>: allowedIncrease·D for Fail,
/// detectRatio/D' for Pass), learned from the control's earlier windows only. Without per-pod counts the bands are 1.
/// </para>
/// </summary>
public sealed class MannWhitneyJudge(string metric, double confidence = 0.98, double allowedIncrease = 1.0,
    TestDirection direction = TestDirection.Increase, double detectRatio = 5) : ICanaryJudge
{
    /// <summary>The numbers of windows with canary traffic at which the test is run.</summary>
    public static readonly IReadOnlyList<int> Looks = [10, 20, 40, 80, 120];

    private const int MaxWindows = 120;
    private const ulong FailSalt = 0x6661696C;
    private const ulong PassSalt = 0x70617373;
    private readonly List<(long Nc, long Xc, long Ns, long Xs, double FailBand, double PassBand)> _windows = new();
    private readonly PodPersistence _pods = new();
    private int _seen;
    private Verdict? _lastLook;

    public string Name => "mann-whitney";

    /// <summary>One minus the chance of failing a good canary over the whole analysis (the gate's share, see <see cref="JudgeFactory.CreateGate"/>).</summary>
    public double Confidence => confidence;

    public string Metric { get; } = metric;

    public void Observe(MetricWindow w)
    {
        if (w.Canary.Requests == 0 || w.Control.Requests == 0)
        {
            _pods.Learn(w.Control.Pods);
            return;
        }
        // The bands come from earlier windows only (learned below, after they are read), as the sequential judges' do.
        var (failBand, passBand) = (1.0, 1.0);
        if (direction == TestDirection.Increase)
        {
            var (k, kControl) = (PodPersistence.Serving(w.Canary.Pods), PodPersistence.Serving(w.Control.Pods));
            (failBand, passBand) = (_pods.Allowance(k, kControl), _pods.PassAllowance(k, kControl, w.Control.Pods is { Count: >= 2 }));
        }
        _pods.Learn(w.Control.Pods);
        _windows.Add((w.Canary.Requests, w.Canary.Failures, w.Control.Requests, w.Control.Failures, failBand, passBand));
        _seen++;
        if (_windows.Count > MaxWindows) _windows.RemoveAt(0);
        if (Looks.Contains(_seen)) _lastLook = Look();
    }

    /// <summary>A window from before the analysis: only the control's pods are learned from (their band).</summary>
    public void LearnHistory(MetricWindow window) => _pods.LearnHistory(window.Control.Pods);

    public bool LearnsFromHistory => true;

    /// <summary>A new step's state: no windows and no look (each step is its own test), but the pods' band learned so far.</summary>
    public JsonObject CarryLearning(JsonObject freshState, JsonObject learnedState)
    {
        var state = (JsonObject)freshState.DeepClone();
        if (learnedState["pods"] is { } pods) state["pods"] = pods.DeepClone();
        return state;
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
        var (u, p) = Ranked(w => allowedIncrease * w.FailBand, FailSalt, direction);
        string L(double x) => x.ToString("0.#####", CultureInfo.InvariantCulture);
        if (p < level && ratio > allowedIncrease)
            return new Verdict(Name, Metric, VerdictOutcome.Fail, nc, xc, ns, xs, u, p, null, ratio,
                $"canary failure rate per window is higher (Mann-Whitney U={u:0.#}, p={L(p)} < {L(level)} at look {_seen}, {ratio:0.##}x control)");
        var (uPass, pPass) = Ranked(w => detectRatio / w.PassBand, PassSalt, TestDirection.Decrease);
        if (pPass < level)
            return new Verdict(Name, Metric, VerdictOutcome.Pass, nc, xc, ns, xs, uPass, pPass, null, ratio,
                $"canary failure rate per window is below {detectRatio:0.##}x control's (U={uPass:0.#}, p={L(pPass)} < {L(level)} at look {_seen})");
        return new Verdict(Name, Metric, VerdictOutcome.InsufficientData, nc, xc, ns, xs, u, p, null, ratio,
            $"look {_seen}: neither worse (p={L(p)}) nor shown below {detectRatio:0.##}x control (p={L(pPass)}) at level {L(level)}");
    }

    /// <summary>Mann-Whitney on the windows brought to equal exposure, each at its null <paramref name="ratio"/> (the canary's failures thinned by it).</summary>
    private (double U, double P) Ranked(Func<(long Nc, long Xc, long Ns, long Xs, double FailBand, double PassBand), double> ratio, ulong salt, TestDirection test)
    {
        var first = _seen - _windows.Count;
        var pairs = _windows.Select((w, i) => EqualExposureSample.Draw(w.Nc, w.Xc, w.Ns, w.Xs, ratio(w), first + i, salt)).ToList();
        return MannWhitneyTest.Run(pairs.Select(x => x.Canary).ToList(), pairs.Select(x => x.Control).ToList(), test);
    }


    public JsonObject SaveState()
    {
        var o = new JsonObject
        {
            ["windows"] = new JsonArray(_windows.Select(w => (JsonNode?)new JsonArray(w.Nc, w.Xc, w.Ns, w.Xs, w.FailBand, w.PassBand)).ToArray()),
            ["seen"] = _seen,
            ["pods"] = _pods.Save(),
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
                // A window saved before the pod bands (issue #29) is judged at the plain ratio, as it was.
                _windows.Add((w[0]!.GetValue<long>(), w[1]!.GetValue<long>(), w[2]!.GetValue<long>(), w[3]!.GetValue<long>(),
                    w.Count > 5 ? w[4]!.GetValue<double>() : 1, w.Count > 5 ? w[5]!.GetValue<double>() : 1));
        _pods.Restore(state["pods"] as JsonObject);
        _seen = state["seen"]?.GetValue<int>() ?? _windows.Count;
        if (state["look"] is JsonObject l && l["counts"] is JsonArray c && Enum.TryParse<VerdictOutcome>(l["outcome"]?.GetValue<string>(), out var outcome))
            _lastLook = new Verdict(Name, Metric, outcome, c[0]!.GetValue<long>(), c[1]!.GetValue<long>(), c[2]!.GetValue<long>(), c[3]!.GetValue<long>(),
                l["u"]?.GetValue<double>(), l["p"]?.GetValue<double>(), null, l["effect"]?.GetValue<double>(), l["summary"]?.GetValue<string>() ?? "");
    }
}
