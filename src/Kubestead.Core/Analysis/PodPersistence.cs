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
/// of u_t·u_(t−1) over the control's pods and successive windows. Poisson noise and within-window bursts are independent
/// from one window to the next, so they add nothing to it on average: it estimates the variance φ² of the part of a pod's
/// relative rate that persists beyond a window, which is exactly the part the window bets are not robust to. Products
/// are weighted by the smaller expected failure count of the pair (noisy low-traffic pods count less).
/// </para>
/// <para>
/// The allowance: the canary's persistent relative rate against the control's is taken as log-normal with variance
/// ln(1 + φ²/k) + ln(1 + φ²/K) (k canary pods, K control pods, each pod's state independent), and D its
/// <see cref="Z"/>-sigma quantile. The Fail test then bets against the null ratio ρ0·D with φ² net of the binomial noise
/// (so identical pods give D = 1 in most rollouts) and the Pass test against detectRatio/D' with D' from an upper bound on
/// φ² (the cap until something is learned), since a Pass on an allowance learned too small promotes a bad canary whose pod
/// sits low for minutes. Both are capped (<see cref="MaxVariance"/>). D is computed from windows strictly before the one it is used for, so each window's bet is still
/// fixed before its failures are seen and the e-processes stay nonnegative supermartingales under the widened nulls.
/// Without per-pod counts D is 1 and the judges are what they were.
/// </para>
/// </summary>
public sealed class PodPersistence
{
    /// <summary>
    /// How many log-sigmas of pod dispersion the Fail test's null allows. The assumption the guarantee needs is that the
    /// canary's persistent rate stays within this band in every window; 2 sigmas (about 2.3% of the time above it under
    /// the log-normal model) kept A/A false aborts within the goal in the simulations of docs/analysis.md.
    /// </summary>
    public const double Z = 2.0;

    /// <summary>
    /// How many standard errors of the binomial noise (what the control's pod counts imply when nothing persists) the
    /// estimate must clear before it widens the Fail test's null. With identical pods the estimate clears 1.5 of them in
    /// about 7% of rollouts (one was cleared in about 16%, the earlier rule); 2 cost A/A validity under persistence in the
    /// early windows (measured: docs/analysis.md, "Persistent pod effects").
    /// </summary>
    public const double NoiseSigmas = 1.5;

    /// <summary>How many standard errors the Pass test's upper bound adds to the estimate.</summary>
    public const double PassSigmas = 1.0;

    /// <summary>
    /// The largest φ² either side uses (a pod-to-pod CV of 1): beyond it the Fail test would need a canary more than about
    /// five times worse before it could fail at one canary pod, and the Pass test could not pass at all, whatever the data.
    /// </summary>
    public const double MaxVariance = 1.0;

    private double _products;
    private double _weights;
    private double _squares;
    private double _noise;
    private bool _seenPods;
    private Dictionary<string, (double Deviation, double Expected)> _previous = new(StringComparer.Ordinal);

    /// <summary>The raw estimate of φ²: the weighted mean of the lag-one products of pods' relative deviations (0 before any pair).</summary>
    public double Estimate => _weights > 0 ? _products / _weights : 0;

    /// <summary>
    /// One standard error of <see cref="Estimate"/> where nothing persists: the spread the control's own counts imply by
    /// binomial noise alone (a pod's deviation u has variance (1 − p)/(n·p) then, and successive windows are independent).
    /// It is known from the counts before the failures are read, so it shrinks the estimate predictably.
    /// </summary>
    public double NoiseError => _weights > 0 ? Math.Sqrt(_noise) / _weights : double.PositiveInfinity;

    /// <summary>
    /// φ² for the Fail test: the estimate less <see cref="NoiseSigmas"/> binomial standard errors, capped at
    /// <see cref="MaxVariance"/> (0 until two successive windows are seen). Identical pods give products of pure noise; the
    /// subtraction keeps their excursions (about one run in six above one standard error, one in forty above two) from
    /// widening the null and costing power where nothing persists.
    /// </summary>
    public double PersistentVariance => _weights > 0 ? Math.Clamp(Estimate - NoiseSigmas * NoiseError, 0, MaxVariance) : 0;

    /// <summary>
    /// φ² for the Pass test: an upper bound, the estimate plus <see cref="PassSigmas"/> standard error (the larger of the
    /// binomial one and the products' own), capped at <see cref="MaxVariance"/>. While nothing has been learned from a
    /// control that reports per-pod counts (now, <paramref name="controlReportsPods"/>, or before) it is the cap: a Pass
    /// before the pods' dispersion is known would trust D = 1. Without per-pod counts it is 0 (the judge as before).
    /// </summary>
    public double PassVariance(bool controlReportsPods)
    {
        if (!_seenPods && !controlReportsPods) return 0;
        if (!(_weights > 0)) return MaxVariance;
        var error = Math.Max(NoiseError, Math.Sqrt(_squares) / _weights);
        return Math.Clamp(Estimate + PassSigmas * error, 0, MaxVariance);
    }

    /// <summary>The factor D ≥ 1 by which the Fail test's null widens for <paramref name="canaryPods"/> canary pods against <paramref name="controlPods"/>.</summary>
    public double Allowance(int canaryPods, int controlPods) => Band(PersistentVariance, Z, canaryPods, controlPods);

    /// <summary>The factor by which the Pass test's null (detectRatio) narrows: the same band around the upper φ².</summary>
    public double PassAllowance(int canaryPods, int controlPods, bool controlReportsPods) =>
        Band(PassVariance(controlReportsPods), Z, canaryPods, controlPods);

    private static double Band(double variance, double sigmas, int canaryPods, int controlPods)
    {
        if (!(variance > 0)) return 1;
        var logVariance = Math.Log(1 + variance / Math.Max(1, canaryPods)) + Math.Log(1 + variance / Math.Max(1, controlPods));
        return Math.Exp(sigmas * Math.Sqrt(logVariance));
    }

    /// <summary>Adds one window of the control's per-pod counts (after the window's bets are placed).</summary>
    public void Learn(IReadOnlyList<PodSample>? pods)
    {
        var current = new Dictionary<string, (double Deviation, double Expected)>(StringComparer.Ordinal);
        if (pods is { Count: >= 2 })
        {
            _seenPods = true;
            var requests = pods.Sum(p => Math.Max(0, p.Requests));
            var failures = pods.Sum(p => Math.Max(0, p.Failures));
            if (requests > 0 && failures > 0)
            {
                var rate = (double)failures / requests;
                foreach (var pod in pods)
                {
                    if (pod.Requests <= 0) continue;
                    var expected = pod.Requests * rate;
                    var deviation = Math.Max(0, pod.Failures) / expected - 1;
                    current[pod.Pod] = (deviation, expected);
                    if (!_previous.TryGetValue(pod.Pod, out var before)) continue;
                    var weight = Math.Min(expected, before.Expected);
                    var product = deviation * before.Deviation;
                    _products += weight * product;
                    _squares += weight * weight * product * product;
                    // Binomial noise alone: Var(u) = (1 − p)/E in each window, independent across windows.
                    _noise += weight * weight * (1 - rate) * (1 - rate) / (expected * before.Expected);
                    _weights += weight;
                }
            }
        }
        // A window without per-pod counts or failures breaks the chain: only successive windows are paired.
        _previous = current;
    }

    /// <summary>The learned sums and the last window's deviations, for the rollout's state.</summary>
    public JsonObject Save()
    {
        var previous = new JsonObject();
        foreach (var (pod, (deviation, expected)) in _previous) previous[pod] = new JsonArray(deviation, expected);
        return new JsonObject
        {
            ["products"] = _products, ["weights"] = _weights, ["squares"] = _squares, ["noise"] = _noise, ["seenPods"] = _seenPods,
            ["previous"] = previous,
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
        _previous = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        if (state?["previous"] is JsonObject previous)
            foreach (var (pod, node) in previous)
                if (node is JsonArray { Count: 2 } a) _previous[pod] = (a[0]!.GetValue<double>(), a[1]!.GetValue<double>());
    }
}
