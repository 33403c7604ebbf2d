namespace Kubestead.Analysis;

/// <summary>
/// An anytime-valid test on failure counts of two versions, conditional on each side's exposure.
/// <para>
/// Given a window's failures m = x_c + x_s, the canary's share x_c is (approximately) Binomial(m, θ) with
/// θ = ρ·n_c / (ρ·n_c + n_s), where n are request counts and ρ is the canary/control failure-rate ratio. The null
/// H0: ρ ≤ ρ0 gives θ0; each alternative ρ1 gives a per-window likelihood ratio, and their running product is a
/// nonnegative supermartingale under H0 (also when failures are binomial, since the exact conditional law is then
/// hypergeometric, which is dominated in convex order by the binomial). A mixture over several alternatives is one
/// too, so by Ville's inequality P(e ever reaches 1/α | H0) ≤ α, however often it is checked and however the weight
/// changes between windows. This follows the construction of Lindon and Malek, "Anytime-valid inference for
/// multinomial count data" (NeurIPS 2022), as used in Netflix's sequential canary testing (KDD 2022).
/// </para>
/// State is one log-product per alternative: O(1) per metric.
/// </summary>
public sealed class ConditionalBinomialEProcess : IFactorEProcess
{
    private readonly double _nullRatio;
    private readonly double[] _alternatives;
    private readonly double[] _logProducts;

    /// <param name="nullRatio">ρ0: the largest canary/control rate ratio that is still acceptable (H0 side).</param>
    /// <param name="alternatives">ρ1 values the mixture bets on; all on one side of ρ0.</param>
    public ConditionalBinomialEProcess(double nullRatio, IReadOnlyList<double> alternatives)
    {
        if (nullRatio <= 0) throw new ArgumentOutOfRangeException(nameof(nullRatio));
        _nullRatio = nullRatio;
        _alternatives = alternatives.ToArray();
        _logProducts = new double[_alternatives.Length];
    }

    public double NullRatio => _nullRatio;

    /// <summary>The mixture e-value (equal weights over the alternatives).</summary>
    public double EValue
    {
        get
        {
            var max = _logProducts.Max();
            var sum = _logProducts.Sum(l => Math.Exp(l - max));
            return Math.Exp(max) * sum / _logProducts.Length;
        }
    }

    /// <summary>The alternative the data favour most so far (its product is largest).</summary>
    public double BestAlternative => _alternatives[Array.IndexOf(_logProducts, _logProducts.Max())];

    public IReadOnlyList<double> AlternativeWeights => Enumerable.Repeat(1.0 / _alternatives.Length, _alternatives.Length).ToArray();

    public void Observe(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures)
    {
        Span<double> factors = stackalloc double[_alternatives.Length];
        if (!LogFactors(canaryExposure, canaryFailures, controlExposure, controlFailures, factors)) return;
        for (var k = 0; k < _alternatives.Length; k++) _logProducts[k] += factors[k];
    }

    public bool LogFactors(double canaryExposure, long canaryFailures, double controlExposure, long controlFailures, Span<double> logFactors)
    {
        if (!(canaryExposure > 0) || !(controlExposure > 0) || canaryFailures + controlFailures == 0) return false;
        var nc = canaryExposure;
        var ns = controlExposure;
        var theta0 = _nullRatio * nc / (_nullRatio * nc + ns);
        for (var k = 0; k < _alternatives.Length; k++)
        {
            var rho = _alternatives[k];
            var theta1 = rho * nc / (rho * nc + ns);
            logFactors[k] = canaryFailures * Math.Log(theta1 / theta0) + controlFailures * Math.Log((1 - theta1) / (1 - theta0));
        }
        return true;
    }

    public double[] Save() => (double[])_logProducts.Clone();

    public void Restore(IReadOnlyList<double> logProducts)
    {
        if (logProducts.Count != _logProducts.Length) throw new ArgumentException("saved state does not match this e-process", nameof(logProducts));
        for (var i = 0; i < _logProducts.Length; i++) _logProducts[i] = logProducts[i];
    }
}
