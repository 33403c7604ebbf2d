using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>Settings of the sequential judges.</summary>
/// <param name="Alpha">
/// Bound on the chance of a wrong verdict: with the window unit, failing a good canary and passing one
/// <paramref name="DetectRatio"/> times worse each have probability at most α/2 (each test runs at α/2, so the bound
/// holds also for a canary whose ratio drifts across both nulls); with the request unit each has at most α.
/// </param>
/// <param name="DetectRatio">A canary this many times worse than its control must not pass.</param>
/// <param name="AllowedIncrease">Ratios up to this are acceptable (1.0: any increase counts against the canary).</param>
/// <param name="Unit">What a bet is placed on: the window (valid when failures cluster; the default) or the request.</param>
/// <param name="Restarts">
/// When set, the Fail test is a mixture of e-processes started at regular times (<see cref="RestartMixtureEProcess"/>):
/// the engine's background test, so that a fault starting late is not judged by evidence drained over a good stretch.
/// </param>
/// <param name="FailShare">
/// The Fail test runs at Alpha·FailShare: a gate whose step judges each may abort splits only the Fail side over the steps
/// (a bad canary must pass every step, so the Pass side keeps its level) (issue #29).
/// </param>
/// <param name="PredictivePodSeconds">
/// An experiment, off (null) by default and set by no spec field: the Fail test's null takes each canary pod's predicted
/// persistent state from its own past counts, forgetting over this many seconds (<see cref="CanaryPodFilter"/>), instead
/// of the fixed band (issue #29; bench/results/issue-29-predictive.md). The Pass test keeps its band.
/// </param>
/// <param name="CountAwareSeconds">
/// How long a canary pod's persistent state is taken to last when the Fail band is narrowed for the failures such a state
/// can hold (<see cref="PodPersistence.CountAwareAllowance"/>; issue #29): each alternative's null is then the smaller of
/// the band and what keeps its expected wealth over a state of this length at most 1. Null: the band alone (the judge
/// before this; the benchmark's <c>default-band</c>). Set by no spec field.
/// </param>
/// <param name="NoFailBand">
/// An experiment only, set by no spec field and not valid where pods' rates differ and persist: the Fail test bets
/// against the control's rate (D = 1), so the benchmark can show what the band costs (bench/results/issue-29-ledger.md).
/// </param>
/// <param name="FailSigmas">
/// An experiment, set by no spec field: the standard errors the Fail side's upper bound on the pods' dispersion adds once
/// a history is learned (null: <see cref="PodPersistence.HistoryFailSigmas"/>).
/// </param>
/// <param name="FailZ">
/// An experiment, set by no spec field: the log-sigmas of the Fail band once a history is learned (null:
/// <see cref="PodPersistence.HistoryZ"/>).
/// </param>
/// <param name="FailGrid">
/// The window Fail test's alternatives (ratios to AllowedIncrease) and their prior weights; null: the engine's grid
/// (<see cref="SequentialCountJudge.DefaultFailGrid"/>). Set by no spec field (the benchmark's experiments).
/// </param>
public sealed record SequentialJudgeOptions(double Alpha = 0.05, double DetectRatio = 5, double AllowedIncrease = 1.0, EvidenceUnit Unit = EvidenceUnit.Window,
    RestartMixtureOptions? Restarts = null, double FailShare = 1, double? PredictivePodSeconds = null,
    double? CountAwareSeconds = PodPersistence.CountAwareSeconds, IReadOnlyList<(double Ratio, double Weight)>? FailGrid = null, bool NoFailBand = false, double? FailSigmas = null,
    double? FailZ = null);

/// <summary>
/// Base of the sequential judges: two e-processes on "bad event" counts (failures, or slow requests) of canary and
/// control. <b>Fail</b> when the evidence that the canary is worse than allowed reaches 1/α. <b>Pass</b> when the
/// evidence that it is NOT <c>DetectRatio</c> times worse reaches 1/α. Otherwise <b>InsufficientData</b>, with a
/// sentence saying whether the canary saw no requests, too few bad events to tell, or simply needs more time.
/// </summary>
public abstract class SequentialCountJudge : ICanaryJudge
{
    private static readonly double[] FailAlternatives = [1.5, 2, 3, 5, 10, 20, 50];

    // Fewer alternatives for the window bets: a window with several failures stakes close to the cap whatever the
    // alternative, so a fine grid adds little power and costs log(grid size) of evidence. Most prior weight goes to the
    // large ratios, where the blast radius is made; 2x keeps some power for small regressions (measured: issue #18).
    public static readonly IReadOnlyList<(double Ratio, double Weight)> DefaultFailGrid = [(2, 0.1), (5, 0.45), (20, 0.45)];
    private readonly double[] _windowFailAlternatives;
    private readonly double[] _windowFailWeights;
    private readonly SequentialJudgeOptions _options;
    private ICountEProcess _failTest;
    private ICountEProcess _passTest;
    private readonly PodPersistence _pods;
    private readonly PodDispersion _dispersion = new();
    private readonly CanaryPodFilter? _canaryPods;
    private long _nc, _xc, _ns, _xs;

    protected SequentialCountJudge(string metric, SequentialJudgeOptions options)
    {
        Metric = metric;
        _options = options;
        var grid = options.FailGrid ?? DefaultFailGrid;
        _windowFailAlternatives = grid.Select(a => a.Ratio).ToArray();
        _windowFailWeights = grid.Select(a => a.Weight).ToArray();
        _pods = new PodPersistence
        {
            HistoryFailSigmasUsed = options.FailSigmas ?? PodPersistence.HistoryFailSigmas,
            HistoryFailZUsed = options.FailZ ?? PodPersistence.HistoryZ,
        };
        if (options.PredictivePodSeconds is { } persistence) _canaryPods = new CanaryPodFilter(persistence);
        _failTest = NewFailTest();
        _passTest = NewPassTest();
    }

    public abstract string Name { get; }

    public string Metric { get; }

    protected abstract string EventName { get; }

    /// <summary>The requests and bad events of each side in a window; null when the window cannot be used yet.</summary>
    protected abstract (long Nc, long Xc, long Ns, long Xs)? Count(MetricWindow window);

    /// <summary>
    /// The window's bad events per pod of canary and control, where the source read them per pod (null: the judges' nulls
    /// are not widened, see <see cref="PodPersistence"/>).
    /// </summary>
    protected virtual (IReadOnlyList<PodSample>? Canary, IReadOnlyList<PodSample>? Control) PodCounts(MetricWindow window) => (null, null);

    /// <summary>The factor D by which the last window's Fail null widened for the pods' persistent dispersion (1: not widened).</summary>
    public double PodAllowance { get; private set; } = 1;

    /// <summary>
    /// The Fail null's factor for each alternative of the window bets in the last window (<see cref="PodAllowance"/> for
    /// each where the band was not narrowed for the failures a persistent state can hold; empty with the request unit).
    /// </summary>
    public IReadOnlyList<double> FailAllowances { get; private set; } = [];

    /// <summary>
    /// The factor by which the last window's Pass null (detectRatio) narrowed: from an upper bound on the dispersion, and
    /// at its cap while the control reports per-pod counts but nothing is learned yet (1 without per-pod counts).
    /// </summary>
    public double PassPodAllowance { get; private set; } = 1;

    /// <summary>
    /// The φ² the Pass band last read: the learned estimate plus its margin (<see cref="PodPersistence.PassVariance"/>).
    /// A plan given this value (<c>kubestead plan --pod-variance</c>) counts the band the judge uses.
    /// </summary>
    public double PassPodVariance { get; private set; }

    /// <summary>The learned estimate of the pods' persistent dispersion φ² (0 before anything is learned; see <see cref="PodPersistence"/>).</summary>
    public double LearnedPodVariance => _pods.Estimate;

    /// <summary>Whether the pods' dispersion has been learned from any pair of windows (the control's history or the rollout's).</summary>
    public bool PodDispersionLearned => _pods.HasLearned;

    /// <summary>
    /// Below this a band moves a verdict too little to be worth a sentence: six hours of alike pods leave the Pass band near
    /// 1.2 (the upper bound on φ² is one standard error above an estimate near 0).
    /// </summary>
    internal const double BandWorthSaying = 1.25;

    /// <summary>
    /// Why an undecided verdict may stay undecided when the control's pods differ persistently: how far the bands moved
    /// the nulls, and, when the Pass null has narrowed to the control's own rate or below, that no Pass can come (a good
    /// canary cannot show it is better than a rate it only equals). Empty when neither band moved them materially.
    /// </summary>
    private string PodBandNote()
    {
        if (PodAllowance < BandWorthSaying && PassPodAllowance < BandWorthSaying) return "";
        var passRatio = _options.DetectRatio / PassPodAllowance;
        static string X(double r) => r >= 100 ? "> 100" : r.ToString("0.##", CultureInfo.InvariantCulture);
        if (!PodDispersionLearned)
            return "; the control's pods report per-pod counts but how far they differ is not learned yet (no two windows with failures on them): "
                   + (passRatio > 1 ? $"until it is, a Pass must show the canary under {X(passRatio)}x control's rate" : "no Pass until it is");
        static string V(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var note = $"; allowing for how far the control's pods may differ persistently (learned φ² {V(LearnedPodVariance)}, read by the Pass band as up to {V(PassPodVariance)}), a Fail needs the canary above {X(PodAllowance)}x control's rate";
        return passRatio > 1
            ? note + $" and a Pass shows it under {X(passRatio)}x (detectRatio {X(_options.DetectRatio)} over the pods' band {X(PassPodAllowance)})"
            : note + $", and no Pass can come while they may differ this much: it would have to show the canary under {passRatio.ToString("0.##", CultureInfo.InvariantCulture)}x control's rate (detectRatio {X(_options.DetectRatio)} over the pods' band {X(PassPodAllowance)})";
    }

    public void Observe(MetricWindow window)
    {
        // Restarts follow the clock (window starts), also through windows that carry no usable counts.
        if (_failTest is RestartMixtureEProcess mixture) mixture.StartDue(window.Start);
        var (canaryPods, controlPods) = PodCounts(window);
        var counts = Count(window);
        if (counts is var (nc, xc, ns, xs))
        {
            _nc += nc;
            _xc += xc;
            _ns += ns;
            _xs += xs;
            // D comes from earlier windows only, so each bet is fixed before the window's failures are seen. Scaling the
            // canary's exposure by D is the same bet as against the null ratio ρ0·D (Fail) and detectRatio/D (Pass).
            // Both sides read an upper bound on the dispersion (a good canary whose pod sits high for minutes must not fail,
            // a 5x canary whose pod sits low must not pass, on an allowance learned too small).
            var (k, kControl) = (PodPersistence.Serving(canaryPods), PodPersistence.Serving(controlPods));
            var seconds = (window.End - window.Start).TotalSeconds;
            PodAllowance = _options.NoFailBand ? 1 : FailAllowance(nc, xc + xs, ns, canaryPods, k, kControl, seconds);
            PassPodAllowance = _pods.PassAllowance(k, kControl, controlPods is { Count: >= 2 });
            PassPodVariance = _pods.PassVariance(controlPods is { Count: >= 2 });
            // The Fail test bets the window's likelihood ratio where the control's pods show how far failures cluster.
            if (FailBets is { } bets)
            {
                bets.Dispersion = _dispersion.Phi;
                var allowances = CountAwareAllowances(nc, k, kControl, seconds);
                bets.Allowances = allowances;
                FailAllowances = allowances;
                _failTest.Observe(nc, xc, ns, xs);
            }
            else _failTest.Observe(nc * PodAllowance, xc, ns, xs);
            _passTest.Observe(nc / PassPodAllowance, xc, ns, xs);
            // The control's rate for the next windows' count-aware band (learned after this window's bet).
            _learnedControlRequests += ns;
            _learnedControlFailures += xs;
        }
        _pods.Learn(controlPods);
        _dispersion.Learn(controlPods);
        if (_canaryPods is not null && counts is var (_, _, controlRequests, controlFailures))
            _canaryPods.Learn(canaryPods, controlRequests, controlFailures, (window.End - window.Start).TotalSeconds);
    }

    /// <summary>
    /// The Fail null's factor per window-bet alternative: the band D, narrowed for each alternative to what keeps its
    /// expected wealth over a persistent state of <see cref="SequentialJudgeOptions.CountAwareSeconds"/> at most 1 when
    /// such a state holds few canary failures (<see cref="PodPersistence.CountAwareAllowance"/>). Every input comes from
    /// earlier windows (the learned dispersion and control rate) or is the window's exposure, never its failures.
    /// </summary>
    private double[] CountAwareAllowances(long nc, int k, int kControl, double seconds)
    {
        var grid = _windowFailAlternatives;
        var allowances = new double[grid.Length];
        Array.Fill(allowances, PodAllowance);
        if (_options.CountAwareSeconds is not { } horizon || _canaryPods is not null || !(PodAllowance > 1) || !(seconds > 0) || _learnedControlRequests <= 0)
            return allowances;
        // An upper-leaning estimate of the control's rate (one failure more than seen): a larger rate only widens the band.
        var controlRate = (_learnedControlFailures + 1.0) / _learnedControlRequests;
        var expected = _options.AllowedIncrease * nc * controlRate * horizon / seconds;
        var variance = _pods.FailVariance * (1.0 / Math.Max(1, k) + 1.0 / Math.Max(1, kControl));
        for (var j = 0; j < grid.Length; j++)
            allowances[j] = Math.Min(PodAllowance, PodPersistence.CountAwareAllowance(grid[j], expected, variance));
        return allowances;
    }

    private double _learnedControlRequests;
    private double _learnedControlFailures;

    /// <summary>
    /// D for the Fail test: the band from the control's learned dispersion, or (the predictive experiment, where the canary
    /// reports per-pod counts and an earlier window gave the control's rate) the canary's predicted null share given the
    /// window's failure total, with the prior variance of a canary pod's state against the control's pooled rate: φ²_up
    /// for the pod, φ²_up/K for the control's average.
    /// </summary>
    private double FailAllowance(long nc, long failures, long ns, IReadOnlyList<PodSample>? canaryPods, int k, int kControl, double seconds)
    {
        var controlRate = _canaryPods?.ControlRate ?? 0;
        if (_canaryPods is null || canaryPods is not { Count: > 0 } || !(controlRate > 0)) return _pods.Allowance(k, kControl);
        var variance = _pods.FailVariance * (1 + 1.0 / Math.Max(1, kControl));
        return _canaryPods.Allowance(canaryPods, variance, failures, _options.AllowedIncrease * nc * controlRate, ns * controlRate, seconds);
    }

    /// <summary>Whether this judge reads per-pod counts to learn from (the latency judge does not: no per-pod slow requests).</summary>
    public virtual bool LearnsFromHistory => false;

    /// <summary>
    /// A window of the control's history (before the analysis began): only the learners read it, from the control's pods;
    /// no evidence moves, the restart clock does not start, and the counts are not added to the verdict's totals. Valid for
    /// the same reason learning during the rollout is: every history window ends before the first bet is placed, so each
    /// bet is still fixed before its own counts are seen. What it adds is an assumption: the control's dispersion in the
    /// look-back is the dispersion during the rollout (docs/analysis.md, "Learning from the control's history").
    /// </summary>
    public void LearnHistory(MetricWindow window)
    {
        var (_, controlPods) = PodCounts(window);
        if (Count(window) is var (_, _, controlRequests, controlFailures))
        {
            _learnedControlRequests += controlRequests;
            _learnedControlFailures += controlFailures;
            _canaryPods?.LearnControl(controlRequests, controlFailures);
        }
        _pods.LearnHistory(controlPods);
        _dispersion.Learn(controlPods);
    }

    /// <summary>
    /// A new analysis step's state: <paramref name="freshState"/>'s evidence (a step passes on its own evidence) with the
    /// learners of <paramref name="learnedState"/>. Learning reads only the control, in windows strictly before the ones
    /// the new step bets on, so carrying it keeps every bet fixed before its counts are seen; restarting it put the Pass
    /// band back at its cap at every step and would drop the control's history after the first.
    /// </summary>
    public JsonObject CarryLearning(JsonObject freshState, JsonObject learnedState)
    {
        var state = (JsonObject)freshState.DeepClone();
        foreach (var learner in LearnerKeys)
            if (learnedState[learner] is { } learned)
                state[learner] = learned.DeepClone();
        return state;
    }

    /// <summary>The parts of the saved state that the learners own (everything else is evidence or its report).</summary>
    private static readonly string[] LearnerKeys = ["pods", "dispersion", "canaryPods", "controlRate"];

    /// <summary>The window bets under the Fail test (null with the request unit).</summary>
    private WindowBettingEProcess? FailBets => _failTest switch
    {
        WindowBettingEProcess single => single,
        RestartMixtureEProcess { Bets: WindowBettingEProcess bets } => bets,
        _ => null,
    };

    /// <summary>The φ the next window's Fail bet uses (null: the capped bet; see <see cref="PodDispersion"/>).</summary>
    public double? FailDispersion => _options.Unit == EvidenceUnit.Window ? _dispersion.Phi : null;


    /// <summary>The evidence now: for "worse than allowed" (fail), for "not DetectRatio times worse" (pass), and the e-value that decides.</summary>
    public (double Fail, double Pass, double Threshold) Evidence => (_failTest.EValue, _passTest.EValue, DecisionThreshold(_options));

    public Verdict Evaluate()
    {
        var threshold = DecisionThreshold(_options);
        var failThreshold = threshold / _options.FailShare;
        var eFail = _failTest.EValue;
        var ePass = _passTest.EValue;
        var canaryRate = _nc == 0 ? 0 : (double)_xc / _nc;
        var controlRate = _ns == 0 ? 0 : (double)_xs / _ns;
        double? effect = controlRate > 0 ? canaryRate / controlRate : null;
        static string E(double e) => e >= 1e6 ? "> 10^6" : e.ToString("0.#", CultureInfo.InvariantCulture);
        string Pct(double r) => (r * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";

        VerdictOutcome outcome;
        double e;
        string summary;
        if (eFail >= failThreshold)
        {
            outcome = VerdictOutcome.Fail;
            e = eFail;
            summary = $"canary {EventName} rate {Pct(canaryRate)} ({_xc} of {_nc}) is worse than control {Pct(controlRate)} ({_xs} of {_ns}); e-value {E(eFail)} >= {failThreshold:0.#}";
        }
        else if (ePass >= threshold)
        {
            outcome = VerdictOutcome.Pass;
            e = ePass;
            summary = $"canary {EventName} rate {Pct(canaryRate)} ({_xc} of {_nc}) is not {_options.DetectRatio:0.##}x control's {Pct(controlRate)}; e-value {E(ePass)} >= {threshold:0.#}";
        }
        else
        {
            outcome = VerdictOutcome.InsufficientData;
            e = eFail;
            summary = _nc == 0
                ? "insufficient data: the canary has received no requests yet"
                : _xc + _xs == 0
                    ? $"insufficient data: no {EventName}s yet on either side ({_nc} canary, {_ns} control requests); more traffic is needed to judge"
                    : $"insufficient data: {_xc} {EventName}s in {_nc} canary requests against {_xs} in {_ns} control requests do not decide yet (evidence {eFail:0.##} for worse, {ePass:0.##} for fine; {threshold:0.#} decides)" + PodBandNote();
        }
        return new Verdict(Name, Metric, outcome, _nc, _xc, _ns, _xs,
            Math.Log(Math.Max(eFail, 1e-300)), Math.Min(1, 1 / Math.Max(e, 1e-300)), e, effect, summary);
    }

    public JsonObject SaveState()
    {
        var o = new JsonObject
        {
            ["nc"] = _nc, ["xc"] = _xc, ["ns"] = _ns, ["xs"] = _xs,
            ["fail"] = new JsonArray(_failTest.Save().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            ["pass"] = new JsonArray(_passTest.Save().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            ["unit"] = UnitName(_options.Unit),
        };
        if (_failTest is RestartMixtureEProcess) o["restarts"] = true;
        o["pods"] = _pods.Save();
        o["dispersion"] = _dispersion.Save();
        if (_canaryPods is not null) o["canaryPods"] = _canaryPods.Save();
        o["controlRate"] = new JsonArray(_learnedControlRequests, _learnedControlFailures);
        o["podAllowance"] = PodAllowance;
        o["passPodAllowance"] = PassPodAllowance;
        o["passPodVariance"] = PassPodVariance;
        SaveExtra(o);
        return o;
    }

    public void RestoreState(JsonObject state)
    {
        _nc = state["nc"]?.GetValue<long>() ?? 0;
        _xc = state["xc"]?.GetValue<long>() ?? 0;
        _ns = state["ns"]?.GetValue<long>() ?? 0;
        _xs = state["xs"]?.GetValue<long>() ?? 0;
        _pods.Restore(state["pods"] as JsonObject);
        _dispersion.Restore(state["dispersion"] as JsonObject);
        _canaryPods?.Restore(state["canaryPods"] as JsonObject);
        // State saved before the count-aware band has no control rate: the next windows use the band until one is learned.
        (_learnedControlRequests, _learnedControlFailures) = state["controlRate"] is JsonArray { Count: 2 } rate
            && rate[0]?.GetValue<double>() is >= 0 and var requests && rate[1]?.GetValue<double>() is >= 0 and var failures
            ? (requests, failures)
            : (0, 0);
        PodAllowance = state["podAllowance"]?.GetValue<double>() ?? 1;
        PassPodAllowance = state["passPodAllowance"]?.GetValue<double>() ?? PodAllowance;
        // A state saved before the bound was kept: what the restored learner reads now (the same sums).
        PassPodVariance = state["passPodVariance"]?.GetValue<double>() ?? _pods.PassVariance(controlReportsPods: false);
        _failTest = NewFailTest();
        _passTest = NewPassTest();
        // State saved before the window unit existed holds per-request likelihood ratios, which are not evidence for the
        // window test: those e-processes restart at 1 (still valid, only slower); the counts carry over.
        var savedUnit = state["unit"]?.GetValue<string>() ?? UnitName(EvidenceUnit.Request);
        if (savedUnit == UnitName(_options.Unit))
        {
            var savedMixture = state["restarts"]?.GetValue<bool>() == true;
            if (state["fail"] is JsonArray f)
            {
                var fail = f.Select(n => n!.GetValue<double>()).ToList();
                // A single test saved before the background restarted becomes the mixture's first start; a mixture read by
                // a judge without restarts starts that test at 1 (valid, only slower).
                if (_failTest is RestartMixtureEProcess mixture && !savedMixture) mixture.RestoreSingle(fail);
                else if (savedMixture == (_failTest is RestartMixtureEProcess)) _failTest.Restore(fail);
            }
            if (state["pass"] is JsonArray p) _passTest.Restore(p.Select(n => n!.GetValue<double>()).ToList());
        }
        RestoreExtra(state);
    }

    protected virtual void SaveExtra(JsonObject state)
    {
    }

    protected virtual void RestoreExtra(JsonObject state)
    {
    }

    /// <summary>The e-value at which a test decides: 2/α for the window unit (each direction at α/2), 1/α per request.</summary>
    public static double DecisionThreshold(SequentialJudgeOptions options) =>
        options.Unit == EvidenceUnit.Window ? 2 / options.Alpha : 1 / options.Alpha;

    private static string UnitName(EvidenceUnit unit) => unit == EvidenceUnit.Window ? "window" : "request";

    private ICountEProcess NewFailTest()
    {
        var grid = _options.Unit == EvidenceUnit.Request ? FailAlternatives : _windowFailAlternatives;
        var alternatives = grid.Select(r => r * _options.AllowedIncrease).ToArray();
        if (_options.Restarts is { } restarts)
            return new RestartMixtureEProcess(SingleFailTest(alternatives), restarts);
        return SingleFailTest(alternatives);
    }

    private IFactorEProcess SingleFailTest(double[] alternatives)
    {
        return _options.Unit == EvidenceUnit.Request
            ? new ConditionalBinomialEProcess(_options.AllowedIncrease, alternatives)
            : new WindowBettingEProcess(_options.AllowedIncrease, alternatives, BettingSide.Above, _windowFailWeights);
    }

    // H0 for passing: the canary is at least DetectRatio times worse. Alternatives: no worse than allowed.
    private ICountEProcess NewPassTest()
    {
        double[] alternatives = [_options.AllowedIncrease, Math.Max(_options.AllowedIncrease, _options.DetectRatio / 2)];
        return _options.Unit == EvidenceUnit.Request
            ? new ConditionalBinomialEProcess(_options.DetectRatio, alternatives)
            : new WindowBettingEProcess(_options.DetectRatio, alternatives, BettingSide.Below);
    }
}
