using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Learns, from the control's own pods, how far a pod's failure rate strays from its version's and stays there across
/// windows, and turns that into the allowance D by which the sequential judges widen their nulls (issue #29).
/// <para>
/// Why: the window bets are valid when a canary pod's rate state does not outlast a window. A pod that keeps a rate
/// twice its version's for minutes (a bad node, a noisy neighbour) makes the canary's failure share predictably high
/// window after window, and a good canary is aborted; a canary 5x worse on average whose pod sits in a low state for
/// minutes looks fine and is promoted. Under the null "canary pods behave like the control's pods", the control's pods
/// show what such states look like.
/// </para>
/// <para>
/// What is learned: with u = x/(n·p) − 1 a pod's relative deviation in a window (p the control's pooled rate), the mean
/// of u_s·u_t over the control's pods and pairs of windows at most <see cref="HorizonWindows"/> apart. Poisson noise and
/// within-window bursts are independent from one window to another, so they add nothing to it on average: it estimates
/// the variance φ² of the part of a pod's relative rate that persists across windows, which is exactly the part the
/// window bets are not robust to. Products are weighted by the smaller expected failure count of the pair (noisy
/// low-traffic pods count less).
/// </para>
/// <para>
/// The allowance: the canary's persistent relative rate against the control's is taken as log-normal with variance
/// ln(1 + φ²/k) + ln(1 + φ²/K) (k canary pods, K control pods, each pod's state independent), and D its
/// <see cref="Z"/>-sigma quantile. <b>Both</b> sides read an upper bound on φ², because each side's error is a band too
/// narrow: the Fail test bets against the null ratio ρ0·D (a good canary whose pod sits high for minutes must not fail on
/// an allowance learned too small; the estimate net of noise, used before, read D = 1 for most of a rollout at 15 s
/// windows and 20 rps and aborted up to 13% of good canaries), the Pass test against detectRatio/D' with D' from the
/// lower tail (<see cref="PassAllowance"/>). Both are capped (<see cref="MaxVariance"/>). D is computed from windows
/// strictly before the one it is used for, so each window's bet is still fixed before its failures are seen and the
/// e-processes stay nonnegative supermartingales under the widened nulls. Without per-pod counts D is 1 and the judges
/// are what they were.
/// </para>
/// </summary>
public sealed class PodPersistence
{
    /// <summary>
    /// How many log-sigmas of pod dispersion the nulls allow. The assumption the guarantee needs is that the canary's
    /// persistent rate stays within this band in every window; 2 sigmas kept A/A false aborts within the goal at 15 s
    /// windows where 1.5 did not (one canary pod at CV 1.0: 3.3% of 1,000; docs/analysis.md). That was learned from the
    /// rollout alone; once the control's history is learned the Fail band reads <see cref="HistoryZ"/>.
    /// </summary>
    public const double Z = 2.0;

    /// <summary>
    /// The Fail band's log-sigmas once the control's history is learned (issue #29, round 10). Hours of history pin φ²
    /// down from the first window, so the band no longer has to cover an estimate still settling. 1.75 kept every A/A
    /// cell of `persistent`, `persistent-tiny`, `onset-reachable` and a long-state check at p0 = 1% within the goal at
    /// 1,000 runs a cell (worst 2.0%, against 1.4% at 2); 1.5 did not (2.9% with three CV 1.0 canary pods in 10-30 minute
    /// states at 200 rps; docs/analysis.md, "The Fail band once a history is learned"). The Pass band keeps <see cref="Z"/>,
    /// and a judge without history keeps it on both sides.
    /// </summary>
    public const double HistoryZ = 1.75;

    /// <summary>
    /// How many standard errors the Fail test's upper bound on φ² adds to the estimate (the larger of the binomial one and
    /// the products' own). It trades A/A against late faults at one canary pod (bench, 1,000 runs a cell): 0.5 gave 2.2%
    /// false aborts at CV 1.0; 1 gave 1.2%, but 2.7% escapes of a 10x fault starting 20 minutes into a 30-minute hold at
    /// CV 0.5 (its pod's low states hide it behind a wider band); 0.75 gives 1.5% and 2.2%.
    /// </summary>
    public const double FailSigmas = 0.75;

    /// <summary>
    /// How many standard errors the Fail test's upper bound adds once the control's history is learned (hours of it
    /// pins φ² down where counts are large; where they are tiny the count-aware null carries the load). 0.25 and 0 kept
    /// every A/A and escape cell of `persistent`, `persistent-tiny` and `onset-reachable` within the goals at 1,000 runs a
    /// cell, and left the calm-history counterexample where 0.75 had it (2,000 runs: 7.7% and 8.0% against 7.6% at one
    /// CV 1.0 canary pod and 50%); 0.25 keeps the bound above the estimate (bench/results/issue-29-ledger.md).
    /// </summary>
    public const double HistoryFailSigmas = 0.25;

    /// <summary>How many standard errors the Pass test's upper bound adds to the estimate.</summary>
    public const double PassSigmas = 1.0;

    /// <summary>
    /// The largest φ² either side uses (a pod-to-pod CV of 1): beyond it the Fail test would need a canary more than about
    /// five times worse before it could fail at one canary pod, and the Pass test could not pass at all, whatever the data.
    /// </summary>
    public const double MaxVariance = 1.0;

    /// <summary>
    /// How many earlier learned windows each window is paired with. A pod state that outlasts a window shows as
    /// covariance at every lag it spans, and under identical pods every pair's product is uncorrelated with every other's,
    /// so pairing each window with the last H instead of the last one gives about H times the pairs: the upper bound
    /// settles near 0 about √H times sooner where pods are alike (what the Fail side's blast pays for reading an upper
    /// bound). H = 8 is 2 minutes at 15 s windows; 16 changed blasts by under 6% and raised one escape cell.
    /// </summary>
    public const int HorizonWindows = 8;

    /// <summary>
    /// Standard errors taken off the estimate from the rollout's own windows alone for the floor both sides read once a
    /// history is learned (<see cref="RolloutFloor"/>).
    /// </summary>
    public const double RolloutFloorSigmas = 1.0;

    private double _products;
    private double _weights;
    private double _squares;
    private double _noise;
    // The same sums over pairs whose later window is the rollout's own (not the control's history).
    private double _rolloutProducts;
    private double _rolloutWeights;
    private double _rolloutSquares;
    private double _rolloutNoise;
    private bool _learnedHistory;
    private bool _seenPods;
    private readonly List<Dictionary<string, PodDeviation>> _recent = [];

    /// <summary>Whether any pair of windows with failures on the control's pods has been learned (the bands read the cap or 1 before).</summary>
    public bool HasLearned => _weights > 0;

    /// <summary>The raw estimate of φ²: the weighted mean of the products of pods' relative deviations in windows at most <see cref="HorizonWindows"/> apart (0 before any pair).</summary>
    public double Estimate => _weights > 0 ? _products / _weights : 0;

    /// <summary>
    /// One standard error of <see cref="Estimate"/> where nothing persists: the spread the control's own counts imply by
    /// binomial noise alone (a pod's deviation u has variance (1 − p)/(n·p) then, and different windows are independent).
    /// </summary>
    public double NoiseError => _weights > 0 ? Math.Sqrt(_noise) / _weights : double.PositiveInfinity;

    /// <summary>
    /// φ² for the Fail test: an upper bound, the estimate plus <see cref="FailSigmas"/> standard errors, capped at
    /// <see cref="MaxVariance"/>. 0 until the first pair of windows is learned: the first windows of a rollout are judged
    /// with D = 1, which a pod state that begins with the rollout can use against a good canary for a window or two (the
    /// bench's persistent families include that); holding the cap there instead (measured with 1 standard error) raised a
    /// 5x fault's blast at 200 rps and 25% from 85 to 104 failed requests and lowered the worst A/A cell from 1.2% to 0.8%.
    /// Without per-pod counts it is 0 (the judge as before).
    /// </summary>
    public double FailVariance => _weights > 0 ? UpperVariance(_learnedHistory ? HistoryFailSigmasUsed : FailSigmas) : 0;

    /// <summary>The standard errors the Fail bound adds once a history is learned (<see cref="HistoryFailSigmas"/> unless an experiment sets it).</summary>
    public double HistoryFailSigmasUsed { get; init; } = HistoryFailSigmas;

    /// <summary>
    /// φ² for the Pass test: an upper bound, the estimate plus <see cref="PassSigmas"/> standard error, capped at
    /// <see cref="MaxVariance"/>. While nothing has been learned from a control that reports per-pod counts (now,
    /// <paramref name="controlReportsPods"/>, or before) it is the cap: a Pass before the pods' dispersion is known would
    /// trust D = 1. Without per-pod counts it is 0 (the judge as before).
    /// </summary>
    public double PassVariance(bool controlReportsPods)
    {
        if (!_seenPods && !controlReportsPods) return 0;
        return _weights > 0 ? UpperVariance(PassSigmas) : MaxVariance;
    }

    /// <summary>
    /// The estimate plus <paramref name="sigmas"/> standard errors (the larger of the binomial one and the products' own),
    /// capped; once a history is learned, at least <see cref="RolloutFloor"/>.
    /// </summary>
    private double UpperVariance(double sigmas)
    {
        var error = Math.Max(NoiseError, Math.Sqrt(_squares) / _weights);
        return Math.Clamp(Math.Max(Estimate + sigmas * error, RolloutFloor), 0, MaxVariance);
    }

    /// <summary>
    /// A lower bound on φ² from the rollout's own windows alone (their estimate less <see cref="RolloutFloorSigmas"/>
    /// standard errors; 0 without a history, where it adds nothing to the upper bound). Why: hours of calm history
    /// dilutes a dispersion that begins with the rollout (a node turned noisy) for as long as the history outweighs it;
    /// this floor lets the rollout's own evidence widen the band as soon as it is clear (docs/analysis.md, "Learning from
    /// the control's history").
    /// </summary>
    public double RolloutFloor
    {
        get
        {
            if (!_learnedHistory || !(_rolloutWeights > 0)) return 0;
            var error = Math.Max(Math.Sqrt(_rolloutNoise), Math.Sqrt(_rolloutSquares)) / _rolloutWeights;
            return Math.Max(0, _rolloutProducts / _rolloutWeights - RolloutFloorSigmas * error);
        }
    }

    /// <summary>The pods of a version that served in a window, as the bands count them (1 without per-pod counts).</summary>
    public static int Serving(IReadOnlyList<PodSample>? pods) => pods?.Count(p => p.Requests > 0) is > 0 and var n ? n : 1;

    /// <summary>
    /// How long a persistent pod state is taken to last by the count-aware Fail band (<see cref="CountAwareAllowance"/>):
    /// 10 minutes, the longest state of issue #29's simulator; states of 10 to 30 minutes kept A/A false aborts at the
    /// band's level where 2 minutes (the learner's own horizon at 15 s windows) did not (up to 3.0% of 300; docs/analysis.md).
    /// </summary>
    public const double CountAwareSeconds = 600;

    /// <summary>
    /// The smallest Fail null factor D ≥ 1 for an alternative ρ1 (relative to ρ0) such that a persistent canary state of
    /// relative rate r, drawn as a gamma of mean 1 and variance <paramref name="variance"/>, does not raise the bet's
    /// expected wealth over a state in which <paramref name="expectedFailures"/> canary failures are expected under the
    /// null: each canary failure multiplies the wealth by at most about ρ1 (the bet's alternative moves with its null),
    /// so E[W | r] ≤ exp(κ(r − D)) with κ = c(ρ1 − 1), and E_r[exp(κ(r − D))] = (1 − κφ²)^(−1/φ²)·e^(−κD) ≤ 1 at
    /// D = −ln(1 − κφ²)/(κφ²). Few failures per state (c small) give D near 1 + κφ²/2 whatever the band; κφ² ≥ 1 gives
    /// infinity (the caller keeps the band).
    /// </summary>
    public static double CountAwareAllowance(double rho1, double expectedFailures, double variance)
    {
        if (!(variance > 0) || !(expectedFailures > 0) || !(rho1 > 1)) return 1;
        var kappa = expectedFailures * (rho1 - 1) * variance;
        if (!(kappa < 1)) return double.PositiveInfinity;
        // −ln(1 − x)/x = 1 + x/2 + x²/3 + ...: the series where x is too small for the logarithm to be accurate.
        return Math.Max(1, kappa < 1e-6 ? 1 + kappa / 2 + kappa * kappa / 3 : -Math.Log(1 - kappa) / kappa);
    }

    /// <summary>The factor D ≥ 1 by which the Fail test's null widens for <paramref name="canaryPods"/> canary pods against <paramref name="controlPods"/>.</summary>
    public double Allowance(int canaryPods, int controlPods) => UpperBand(FailVariance, canaryPods, controlPods, _learnedHistory ? HistoryFailZUsed : Z);

    /// <summary>
    /// The log-sigmas of the Fail band once a history is learned (<see cref="HistoryZ"/> unless an experiment sets it: the
    /// bench's <c>default-failz-X</c>).
    /// </summary>
    public double HistoryFailZUsed { get; init; } = HistoryZ;

    /// <summary>
    /// The factor by which the Pass test's null (detectRatio) narrows, from the <b>lower</b> tail of the canary's rate: the
    /// wider of the log-normal band and a gamma one. A pod's rate distribution with CV near 1 has much of its mass near 0
    /// (a gamma with CV 1 is the exponential: 2.3% of its states lie below 0.023 of the mean, where the log-normal of the
    /// same CV puts 0.17), so a 5x canary whose one pod sits that low looks better than control for minutes; the log-normal
    /// band alone promoted 5-7.5% of them (bench, one canary pod, CV 1.0, 50% weight, 200 runs). Where φ² is small the two agree.
    /// </summary>
    public double PassAllowance(int canaryPods, int controlPods, bool controlReportsPods) =>
        PassAllowanceFor(PassVariance(controlReportsPods), canaryPods, controlPods);

    /// <summary>
    /// The Pass band D' for a given φ² (the planner's: the judge reads it at an upper bound on what it learned, so a plan at
    /// the learned value is the least it will be).
    /// </summary>
    public static double PassAllowanceFor(double variance, int canaryPods, int controlPods) =>
        Math.Max(UpperBand(variance, canaryPods, controlPods), LowerBand(variance, canaryPods, controlPods));

    /// <summary>The log-normal band: e^(Z·s), s² = ln(1 + φ²/k) + ln(1 + φ²/K).</summary>
    private static double UpperBand(double variance, int canaryPods, int controlPods, double z = Z)
    {
        if (!(variance > 0)) return 1;
        var logVariance = Math.Log(1 + variance / Math.Max(1, canaryPods)) + Math.Log(1 + variance / Math.Max(1, controlPods));
        return Math.Exp(z * Math.Sqrt(logVariance));
    }

    /// <summary>
    /// The gamma band: the canary's mean rate over k pods as a gamma of shape k/φ² and mean 1, its lower Z-sigma quantile by
    /// the Wilson–Hilferty cube-root approximation (below the exact quantile for the shapes used, the safe side: 0.011
    /// against 0.023 at shape 1, 0.26 against about 0.27 at shape 4), combined in log space with the control's log-normal Z-sigma spread.
    /// </summary>
    private static double LowerBand(double variance, int canaryPods, int controlPods)
    {
        if (!(variance > 0)) return 1;
        var c = variance / (9.0 * Math.Max(1, canaryPods));
        var root = 1 - c - Z * Math.Sqrt(c);
        // A root at or below 0 puts the quantile at 0: no rate is too low to be a good pod, so no Pass.
        var quantile = root > 0 ? root * root * root : 0;
        var canary = -Math.Log(Math.Max(quantile, MinQuantile));
        var control = Z * Math.Sqrt(Math.Log(1 + variance / Math.Max(1, controlPods)));
        return Math.Exp(Math.Sqrt(canary * canary + control * control));
    }

    private const double MinQuantile = 1e-12;

    /// <summary>Adds one window of the control's per-pod counts (after the window's bets are placed).</summary>
    public void Learn(IReadOnlyList<PodSample>? pods) => Learn(pods, history: false);

    /// <summary>Adds one window of the control's history (before the analysis began; see <see cref="ICanaryJudge.LearnHistory"/>).</summary>
    public void LearnHistory(IReadOnlyList<PodSample>? pods) => Learn(pods, history: true);

    private void Learn(IReadOnlyList<PodSample>? pods, bool history)
    {
        _learnedHistory |= history && pods is { Count: >= 2 };
        if (pods is not { Count: >= 2 })
        {
            // A window without per-pod counts breaks the chain: only windows of one unbroken per-pod series are paired.
            _recent.Clear();
            return;
        }
        _seenPods = true;
        var requests = pods.Sum(p => Math.Max(0, p.Requests));
        var failures = pods.Sum(p => Math.Max(0, p.Failures));
        // Without failures a window says nothing about relative rates; it is skipped, not a break (the pods' states go on).
        if (requests <= 0 || failures <= 0) return;
        var rate = (double)failures / requests;
        var current = new Dictionary<string, PodDeviation>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (pod.Requests <= 0) continue;
            var expected = pod.Requests * rate;
            var now = new PodDeviation(Math.Max(0, pod.Failures) / expected - 1, expected, rate);
            current[pod.Pod] = now;
            // Every earlier window within the horizon, not only the last one: under identical pods each pair's product is
            // uncorrelated with every other's, so N windows give about N·H pairs instead of N and the estimate settles
            // about √H times sooner (and with it what the upper bound costs where pods are alike).
            foreach (var earlier in _recent)
            {
                if (!earlier.TryGetValue(pod.Pod, out var before)) continue;
                var weight = Math.Min(expected, before.Expected);
                var product = now.Deviation * before.Deviation;
                // Binomial noise alone: Var(u) = (1 − p)/E in each window, independent across windows.
                var noise = weight * weight * (1 - now.Rate) * (1 - before.Rate) / (expected * before.Expected);
                _products += weight * product;
                _squares += weight * weight * product * product;
                _noise += noise;
                _weights += weight;
                if (history) continue;
                _rolloutProducts += weight * product;
                _rolloutSquares += weight * weight * product * product;
                _rolloutNoise += noise;
                _rolloutWeights += weight;
            }
        }
        _recent.Add(current);
        if (_recent.Count > HorizonWindows) _recent.RemoveAt(0);
    }

    /// <summary>The learned sums and the recent windows' deviations, for the rollout's state.</summary>
    public JsonObject Save()
    {
        var recent = new JsonArray();
        foreach (var window in _recent)
        {
            var pods = new JsonObject();
            foreach (var (pod, d) in window) pods[pod] = new JsonArray(d.Deviation, d.Expected, d.Rate);
            recent.Add((JsonNode)pods); // the untyped overload: the generic one is not AOT-safe (IL2026/IL3050)
        }
        return new JsonObject
        {
            ["products"] = _products, ["weights"] = _weights, ["squares"] = _squares, ["noise"] = _noise, ["seenPods"] = _seenPods,
            ["recent"] = recent,
            ["learnedHistory"] = _learnedHistory,
            ["rollout"] = new JsonObject
            {
                ["products"] = _rolloutProducts, ["weights"] = _rolloutWeights, ["squares"] = _rolloutSquares, ["noise"] = _rolloutNoise,
            },
        };
    }

    /// <summary>Restores <see cref="Save"/>'s form; a state without it (saved before issue #29) starts learning afresh.</summary>
    public void Restore(JsonObject? state)
    {
        _products = state?["products"]?.GetValue<double>() ?? 0;
        _weights = state?["weights"]?.GetValue<double>() ?? 0;
        _squares = state?["squares"]?.GetValue<double>() ?? 0;
        // A state saved before the binomial noise was kept: its products' own spread stands in for it (the earlier rule).
        _noise = state?["noise"]?.GetValue<double>() ?? _squares;
        _seenPods = state?["seenPods"]?.GetValue<bool>() ?? _weights > 0;
        _learnedHistory = state?["learnedHistory"]?.GetValue<bool>() ?? false;
        // A state saved before the history was learned: every pair was the rollout's own.
        var rollout = state?["rollout"] as JsonObject;
        _rolloutProducts = rollout is null ? _products : rollout["products"]?.GetValue<double>() ?? 0;
        _rolloutWeights = rollout is null ? _weights : rollout["weights"]?.GetValue<double>() ?? 0;
        _rolloutSquares = rollout is null ? _squares : rollout["squares"]?.GetValue<double>() ?? 0;
        _rolloutNoise = rollout is null ? _noise : rollout["noise"]?.GetValue<double>() ?? 0;
        _recent.Clear();
        if (state?["recent"] is JsonArray recent)
            foreach (var window in recent.OfType<JsonObject>())
                _recent.Add(ReadWindow(window));
        // The earlier form kept only the last window (without its rate: the binomial noise term then takes p as 0).
        else if (state?["previous"] is JsonObject previous)
            _recent.Add(ReadWindow(previous));
    }

    private static Dictionary<string, PodDeviation> ReadWindow(JsonObject window)
    {
        var pods = new Dictionary<string, PodDeviation>(StringComparer.Ordinal);
        foreach (var (pod, node) in window)
            if (node is JsonArray { Count: >= 2 } a)
                pods[pod] = new PodDeviation(a[0]!.GetValue<double>(), a[1]!.GetValue<double>(), a.Count > 2 ? a[2]!.GetValue<double>() : 0);
        return pods;
    }

    /// <summary>A pod's relative deviation from its version's pooled rate in one window, its expected failures and that rate.</summary>
    private readonly record struct PodDeviation(double Deviation, double Expected, double Rate);
}
