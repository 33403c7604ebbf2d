using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// Learns, from the control's own per-pod counts, how far a window's failures cluster beyond binomial noise, so that the
/// Fail test may bet the window's likelihood ratio instead of the capped bet when the control shows that failures arrive
/// one by one (issue #29, the blast goal).
/// <para>
/// Why: the capped window bet is valid however failures cluster, but one window can multiply the evidence by at most
/// about 1/θ0 (4 at 25% weight), so a fault needs ln(40)/ln(1/θ0) windows whatever its size. If failures come in clusters
/// of at most φ (a retry storm of φ failures on one pod; φ = 1: one by one), each cluster lands on a side with the
/// probability of its exposure, and the binomial likelihood ratio raised to 1/φ (the quasi-binomial bet on m/φ
/// clusters) has conditional mean at most 1 under the null: by Jensen, E[g^(s/φ)] ≤ 1 for every cluster of s ≤ φ
/// failures, g the one-failure ratio. Its factor grows with the window's failures, so a large fault fails in one window.
/// </para>
/// <para>
/// What is learned: per window, Pearson's dispersion of the control's pods, X² = Σ (x_i − n_i·p)² / (n_i·p·(1 − p)) with
/// p the control's pooled rate, against its K − 1 degrees of freedom. Under binomial counts X²/(K − 1) averages 1; clusters
/// of size s raise it to about the size-biased mean of s, and pods whose rates differ raise it too (counted twice with the
/// pod allowance D, on the safe side). φ is the pooled ratio plus <see cref="Sigmas"/> of its standard error (the larger of the
/// windows' own spread and the spread binomial counts alone would show), at least 1, and only once <see cref="MinimumWindows"/> windows with failures are seen: until then,
/// and without per-pod counts, there is no φ and the Fail test keeps the capped bet. φ comes from windows strictly before
/// the one it bets on, so each bet is fixed before its failures are seen.
/// </para>
/// <para>
/// The assumption the guarantee needs: the canary's failures cluster no more than the control's (a burst on canary pods
/// of a size the control has never shown is not covered; docs/analysis.md shows what that costs).
/// </para>
/// </summary>
public sealed class PodDispersion
{
    /// <summary>Control windows with failures and at least two serving pods needed before φ is trusted.</summary>
    public const int MinimumWindows = 1;

    /// <summary>Standard errors added to the pooled dispersion (an upper estimate: too small a φ is the unsafe side).</summary>
    public const double Sigmas = 2.0;

    // Running sums over the learned windows: X², df, X²², X²·df and df² (the residuals' spread follows from them).
    private double _chiSquare;
    private double _freedom;
    private double _chiSquare2;
    private double _cross;
    private double _freedom2;
    private double _binomialVariance;
    private int _windows;

    /// <summary>The pooled dispersion X²/df (1 before anything is learned).</summary>
    public double Estimate => _freedom > 0 ? _chiSquare / _freedom : 1;

    /// <summary>
    /// φ for the next window's Fail bet: the pooled dispersion plus <see cref="Sigmas"/> standard errors, at least 1; null
    /// while fewer than <see cref="MinimumWindows"/> windows are learned (the capped bet).
    /// </summary>
    public double? Phi
    {
        get
        {
            if (_windows < MinimumWindows || !(_freedom > 0)) return null;
            // Each window's X² spreads around Estimate·df: Σ (X²_t − E·df_t)², expanded into the running sums.
            var e = Estimate;
            var residuals = Math.Max(0, _chiSquare2 - 2 * e * _cross + e * e * _freedom2);
            // Few windows say little about their own spread: the spread binomial counts alone would show is the floor.
            var spread = Math.Max(residuals, _binomialVariance);
            return Math.Max(1, e + Sigmas * Math.Sqrt(spread) / _freedom);
        }
    }

    /// <summary>Adds one window of the control's per-pod counts (after the window's bets are placed).</summary>
    public void Learn(IReadOnlyList<PodSample>? pods)
    {
        if (pods is not { Count: >= 2 }) return;
        var serving = pods.Where(p => p.Requests > 0).ToList();
        if (serving.Count < 2) return;
        var requests = serving.Sum(p => (double)p.Requests);
        var failures = serving.Sum(p => (double)Math.Max(0, p.Failures));
        if (!(failures > 0)) return;
        var rate = failures / requests;
        if (rate >= 1) return;
        var chiSquare = 0.0;
        foreach (var pod in serving)
        {
            var expected = pod.Requests * rate;
            var deviation = Math.Max(0, pod.Failures) - expected;
            chiSquare += deviation * deviation / (expected * (1 - rate));
            // Var((x − μ)²/μ) for a Poisson count of mean μ: 1/μ + 2.
            _binomialVariance += 1 / expected + 2;
        }
        var freedom = serving.Count - 1.0;
        _chiSquare += chiSquare;
        _freedom += freedom;
        _chiSquare2 += chiSquare * chiSquare;
        _cross += chiSquare * freedom;
        _freedom2 += freedom * freedom;
        _windows++;
    }

    public JsonObject Save() => new()
    {
        ["chiSquare"] = _chiSquare, ["freedom"] = _freedom, ["chiSquare2"] = _chiSquare2, ["cross"] = _cross, ["freedom2"] = _freedom2,
        ["binomialVariance"] = _binomialVariance, ["windows"] = _windows,
    };

    /// <summary>Restores <see cref="Save"/>'s form; a state without it starts learning afresh (the capped bet until then).</summary>
    public void Restore(JsonObject? state)
    {
        _chiSquare = state?["chiSquare"]?.GetValue<double>() ?? 0;
        _freedom = state?["freedom"]?.GetValue<double>() ?? 0;
        _chiSquare2 = state?["chiSquare2"]?.GetValue<double>() ?? 0;
        _cross = state?["cross"]?.GetValue<double>() ?? 0;
        _freedom2 = state?["freedom2"]?.GetValue<double>() ?? 0;
        _binomialVariance = state?["binomialVariance"]?.GetValue<double>() ?? 0;
        _windows = state?["windows"]?.GetValue<int>() ?? 0;
    }
}
