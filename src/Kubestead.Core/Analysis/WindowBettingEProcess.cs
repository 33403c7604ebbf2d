namespace Kubestead.Analysis;

/// <summary>Which side of the null ratio an e-process collects evidence for.</summary>
public enum BettingSide
{
    /// <summary>Evidence that the canary/control ratio is above the null ratio (the Fail test).</summary>
    Above,

    /// <summary>Evidence that the ratio is below the null ratio (the Pass test).</summary>
    Below,
}

/// <summary>
/// An anytime-valid test that takes the <b>window</b>, not the request, as its unit, so that its guarantee survives
/// failures that cluster (per-pod rates that vary from minute to minute, retry storms on one pod, outages).
/// <para>
/// In a window with m = x_c + x_s failures, the canary's failure fraction y = x_c / m lies in [0, 1]. Under
/// H0: ρ ≤ ρ0 its conditional mean given m is at most θ0 = ρ0·n_c / (ρ0·n_c + n_s), however the failures cluster:
/// a burst or an outage lands on one side with the probability of its exposure, and a canary pod whose rate varies
/// around ρ0 gives a share that is concave in its rate, so its mean is below θ0 (Jensen). Each window multiplies the
/// wealth by 1 + λ(y − θ0), λ ∈ [0, 1/θ0] chosen before y is seen (it may depend on m and the exposures), which has
/// conditional mean at most 1 under H0; the running product is a nonnegative supermartingale and a mixture over
/// several alternatives is one too, so by Ville's inequality P(e ever reaches 1/α | H0) ≤ α, evaluated as often as
/// one likes (Waudby-Smith and Ramdas, "Estimating means of bounded random variables by betting", JRSS B 2024).
/// The Below side is the same test on 1 − y.
/// </para>
/// <para>
/// The bet for alternative ρ1 is the chord of that alternative's binomial likelihood ratio between y = 0 and y = 1,
/// scaled to equal 1 at θ0: with q = ((1−θ1)θ0 / (θ1(1−θ0)))^m, λ = (1 − q) / ((1 − θ0)q + θ0). With one failure in the
/// window it IS the likelihood ratio of the per-request test (nothing is lost when windows are short, e.g. evaluated
/// every second); with many failures it approaches the all-in bet y/θ0, capped at <see cref="MaxStake"/>/θ0 so that one
/// window against the bet cannot wipe the evidence out. The cost of robustness: one window can multiply the evidence
/// by at most 1 + MaxStake(1/θ0 − 1), whatever the number of failures in it.
/// Where the control shows failures arriving one by one (<see cref="Dispersion"/>), the Fail test lifts that cap.
/// </para>
/// State is one log-wealth per alternative: O(1) per metric.
/// </summary>
public sealed class WindowBettingEProcess : IFactorEProcess
{
    /// <summary>The largest fraction of the wealth at stake in one window (of the most a bet can stake, 1/θ0).</summary>
    public const double MaxStake = 0.95;

    private readonly double _nullRatio;
    private readonly BettingSide _side;
    private readonly double[] _alternatives;
    private readonly double[] _weights;
    private readonly double[] _logWealth;

    /// <param name="nullRatio">ρ0: the canary/control failure-rate ratio of the null hypothesis.</param>
    /// <param name="alternatives">ρ1 values the mixture bets on; each must lie on <paramref name="side"/> of ρ0.</param>
    /// <param name="side">Above: evidence that ρ &gt; ρ0 (Fail). Below: evidence that ρ &lt; ρ0 (Pass).</param>
    /// <param name="weights">Prior weights of the alternatives in the mixture (normalised; equal when omitted).</param>
    public WindowBettingEProcess(double nullRatio, IReadOnlyList<double> alternatives, BettingSide side, IReadOnlyList<double>? weights = null)
    {
        if (weights is not null && (weights.Count != alternatives.Count || weights.Any(w => !(w > 0))))
            throw new ArgumentException("one positive weight per alternative is needed", nameof(weights));
        if (!(nullRatio > 0) || double.IsInfinity(nullRatio)) throw new ArgumentOutOfRangeException(nameof(nullRatio), nullRatio, "the null ratio must be positive and finite");
        if (alternatives.Count == 0) throw new ArgumentException("at least one alternative is needed", nameof(alternatives));
        foreach (var a in alternatives)
        {
            // An alternative on the wrong side of the null would bet against the evidence the test is meant to collect.
            var rightSide = side == BettingSide.Above ? a > nullRatio : a < nullRatio && a > 0;
            if (!rightSide)
                throw new ArgumentOutOfRangeException(nameof(alternatives), a,
                    $"alternative ratio {a} must be {(side == BettingSide.Above ? "above" : "below")} the null ratio {nullRatio}");
        }
        _nullRatio = nullRatio;
        _side = side;
        _alternatives = alternatives.ToArray();
        var total = weights?.Sum() ?? alternatives.Count;
        _weights = weights?.Select(w => w / total).ToArray() ?? Enumerable.Repeat(1.0 / alternatives.Count, alternatives.Count).ToArray();
        _logWealth = new double[_alternatives.Length];
    }

    public double NullRatio => _nullRatio;

    /// <summary>
    /// φ ≥ 1 when the next windows may be bet on their likelihood ratio to the power 1/φ (the quasi-binomial bet on m/φ
    /// clusters: valid when failures cluster in groups of at most φ, see <see cref="PodDispersion"/>), uncapped; null: the
    /// capped chord bet, valid however failures cluster. Set from earlier windows only, before the window it bets on.
    /// </summary>
    public double? Dispersion
    {
        get => _dispersion;
        set => _dispersion = value is { } phi && !(phi >= 1) ? throw new ArgumentOutOfRangeException(nameof(value), phi, "the dispersion must be at least 1") : value;
    }

    private double? _dispersion;

    /// <summary>
    /// Per alternative, the factor by which the next windows' canary exposure is scaled (its null ρ0·D_k and alternative
    /// ρ_k·D_k; see <see cref="SequentialCountJudge.FailAllowances"/>); null: 1 for every alternative. Set from earlier
    /// windows only, before the window it bets on.
    /// </summary>
    public IReadOnlyList<double>? Allowances
    {
        get => _allowances;
        set => _allowances = value is null ? null
            : value.Count != _alternatives.Length || value.Any(d => !(d >= 1) || double.IsInfinity(d))
                ? throw new ArgumentException("one finite allowance of at least 1 per alternative is needed", nameof(value))
                : value.ToArray();
    }

    private double[]? _allowances;

    /// <summary>The mixture e-value: the prior-weighted average of the alternatives' wealth.</summary>
    public double EValue
    {
        get
        {
            var max = _logWealth.Max();
            var sum = 0.0;
            for (var i = 0; i < _logWealth.Length; i++) sum += _weights[i] * Math.Exp(_logWealth[i] - max);
            return Math.Exp(max) * sum;
        }
    }

    /// <summary>The alternative whose bets have earned most so far.</summary>
    public double BestAlternative => _alternatives[Array.IndexOf(_logWealth, _logWealth.Max())];

    public IReadOnlyList<double> AlternativeWeights => _weights;

    public void Observe(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures)
    {
        Span<double> factors = stackalloc double[_alternatives.Length];
        if (!LogFactors(canaryExposure, canaryFailures, controlExposure, controlFailures, factors)) return;
        for (var k = 0; k < _alternatives.Length; k++) _logWealth[k] += factors[k];
    }

    public bool LogFactors(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures, Span<double> logFactors)
    {
        var m = canaryFailures + controlFailures;
        if (!(canaryExposure > 0) || !(controlExposure > 0) || m <= 0) return false;
        var ns = controlExposure;
        var y = (double)canaryFailures / m;
        // The Below side bets on 1 - y against 1 - θ0; the same formulas then apply with every share mirrored.
        if (_side == BettingSide.Below) y = 1 - y;
        for (var k = 0; k < _alternatives.Length; k++)
        {
            var nc = canaryExposure * (_allowances?[k] ?? 1);
            var theta0 = _nullRatio * nc / (_nullRatio * nc + ns);
            if (_side == BettingSide.Below) theta0 = 1 - theta0;
            var rho = _alternatives[k];
            var theta1 = rho * nc / (rho * nc + ns);
            if (_side == BettingSide.Below) theta1 = 1 - theta1;
            var lambda = Stake(theta0, theta1, m);
            if (_dispersion is { } phi && QuasiBinomialGrowsFaster(theta0, theta1, m, phi, lambda))
            {
                // The binomial likelihood ratio of the window's m failures, shrunk to m/φ clusters.
                logFactors[k] = m * (y * Math.Log(theta1 / theta0) + (1 - y) * Math.Log((1 - theta1) / (1 - theta0))) / phi;
                continue;
            }
            logFactors[k] = Math.Log(1 + lambda * (y - theta0));
        }
        return true;
    }

    /// <summary>
    /// Which of the two valid bets to place, decided from m, the exposures and φ alone (before the window's share is seen):
    /// the quasi-binomial one when its expected log growth under the alternative, m·KL(θ1‖θ0)/φ, beats the capped bet's
    /// (about ln(1 + λ(θ1 − θ0))). Few failures or a large φ (bursts seen on the control) keep the capped bet.
    /// </summary>
    private static bool QuasiBinomialGrowsFaster(double theta0, double theta1, long m, double phi, double lambda)
    {
        if (theta1 <= theta0) return false;
        var divergence = theta1 * Math.Log(theta1 / theta0) + (1 - theta1) * Math.Log((1 - theta1) / (1 - theta0));
        return m * divergence / phi > Math.Log(1 + lambda * (theta1 - theta0));
    }

    /// <summary>The normalised chord bet for a window of <paramref name="m"/> failures, capped at MaxStake/θ0.</summary>
    internal static double Stake(double theta0, double theta1, long m)
    {
        if (theta1 <= theta0 || theta0 <= 0 || theta0 >= 1) return 0;
        var logQ = m * (Math.Log((1 - theta1) * theta0) - Math.Log(theta1 * (1 - theta0)));
        var q = Math.Exp(logQ);
        var lambda = (1 - q) / ((1 - theta0) * q + theta0);
        return Math.Min(lambda, MaxStake / theta0);
    }

    public double[] Save() => (double[])_logWealth.Clone();

    public void Restore(IReadOnlyList<double> logWealth)
    {
        if (logWealth.Count != _logWealth.Length) throw new ArgumentException("saved state does not match this e-process", nameof(logWealth));
        for (var i = 0; i < _logWealth.Length; i++) _logWealth[i] = logWealth[i];
    }
}
