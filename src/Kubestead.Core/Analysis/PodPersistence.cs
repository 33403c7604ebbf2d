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
/// <see cref="Z"/>-sigma quantile. The Fail test then bets against the null ratio ρ0·D and the Pass test against
/// detectRatio/D. D is computed from windows strictly before the one it is used for, so each window's bet is still
/// fixed before its failures are seen and the e-processes stay nonnegative supermartingales under the widened nulls.
/// Without per-pod counts (or with homogeneous pods) D is 1 and the judges are what they were.
/// </para>
/// </summary>
public sealed class PodPersistence
{
    /// <summary>
    /// How many log-sigmas of pod dispersion the nulls allow. The assumption the guarantee needs is that the canary's
    /// persistent rate stays within this band in every window; 2 sigmas (about 2.3% of the time above it under the
    /// log-normal model) kept A/A false aborts within the goal in the simulations of docs/analysis.md.
    /// </summary>
    public const double Z = 2.0;

    private double _products;
    private double _weights;
    private double _squares;
    private Dictionary<string, (double Deviation, double Expected)> _previous = new(StringComparer.Ordinal);

    /// <summary>
    /// φ²: the learned variance of a pod's persistent relative rate, less one standard error of the estimate (0 until two
    /// successive windows are seen). Homogeneous pods give products of pure noise whose mean hovers around 0; without the
    /// subtraction its positive excursions would widen the nulls (and cost power) where nothing persists.
    /// </summary>
    public double PersistentVariance => _weights > 0 ? Math.Max(0, (_products - Math.Sqrt(_squares)) / _weights) : 0;

    /// <summary>The factor D ≥ 1 by which the nulls widen for <paramref name="canaryPods"/> canary pods against <paramref name="controlPods"/>.</summary>
    public double Allowance(int canaryPods, int controlPods)
    {
        var v = PersistentVariance;
        if (!(v > 0)) return 1;
        var logVariance = Math.Log(1 + v / Math.Max(1, canaryPods)) + Math.Log(1 + v / Math.Max(1, controlPods));
        return Math.Exp(Z * Math.Sqrt(logVariance));
    }

    /// <summary>Adds one window of the control's per-pod counts (after the window's bets are placed).</summary>
    public void Learn(IReadOnlyList<PodSample>? pods)
    {
        var current = new Dictionary<string, (double Deviation, double Expected)>(StringComparer.Ordinal);
        if (pods is { Count: >= 2 })
        {
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
        return new JsonObject { ["products"] = _products, ["weights"] = _weights, ["squares"] = _squares, ["previous"] = previous };
    }

    /// <summary>Restores <see cref="Save"/>'s form; a state without it (saved before issue #29) starts learning afresh.</summary>
    public void Restore(JsonObject? state)
    {
        _products = state?["products"]?.GetValue<double>() ?? 0;
        _weights = state?["weights"]?.GetValue<double>() ?? 0;
        _squares = state?["squares"]?.GetValue<double>() ?? 0;
        _previous = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        if (state?["previous"] is JsonObject previous)
            foreach (var (pod, node) in previous)
                if (node is JsonArray { Count: 2 } a) _previous[pod] = (a[0]!.GetValue<double>(), a[1]!.GetValue<double>());
    }
}
