using Kubestead.Analysis;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// The benchmark's oracle (issue #29 item 2): a CUSUM on the same windows the engine sees, with the true post-change
/// likelihood ratio of the fault's size (it knows the multiplier, not the onset). Each window's evidence is the
/// conditional law of the canary's share of all failures given both sides' request counts, so a failure rate that
/// moves on both sides at once (an outage, the common level) cancels; what it cannot model (per-pod heterogeneity and
/// persistence) its threshold absorbs, because <see cref="OracleCalibration"/> sets it by A/A simulation of the same
/// environment. It only aborts: it never promotes.
/// </summary>
public sealed class OraclePolicy : IPolicy
{
    private const double Eps = 1e-9;
    private readonly double _logRatio;
    private readonly double _multiplier;
    private readonly double _interval;
    private readonly double _tickSeconds;
    private readonly double _threshold;
    private readonly IScrapedCounts? _scraped;
    private double _windowStart;
    private long _nc, _xc, _ns, _xs;

    public OraclePolicy(double multiplier, double intervalSeconds, double tickSeconds, double threshold, IScrapedCounts? scraped,
        double? scrapeIntervalSeconds)
    {
        if (multiplier <= 1) throw new ArgumentException($"the oracle needs a fault multiplier above 1 (was {multiplier})", nameof(multiplier));
        if (intervalSeconds < tickSeconds || Math.Abs(intervalSeconds / tickSeconds - Math.Round(intervalSeconds / tickSeconds)) > Eps)
            throw new ArgumentException($"oracle.intervalSeconds ({intervalSeconds}) must be a multiple of tickSeconds ({tickSeconds})");
        if (scrapeIntervalSeconds is { } scrape && intervalSeconds < scrape)
            throw new ArgumentException($"oracle.intervalSeconds ({intervalSeconds}) is shorter than the scrape interval ({scrape} s)");
        _multiplier = multiplier;
        _logRatio = Math.Log(multiplier);
        _interval = intervalSeconds;
        _tickSeconds = tickSeconds;
        _threshold = threshold;
        _scraped = scraped;
    }

    public string Name => "oracle";

    /// <summary>The CUSUM statistic now and its largest value so far (calibration reads the largest).</summary>
    public double Statistic { get; private set; }

    public double MaxStatistic { get; private set; }

    public Decision? OnTick(Tick tick)
    {
        _nc += tick.Nc; _xc += tick.Xc; _ns += tick.Ns; _xs += tick.Xs;
        var now = tick.TimeSeconds + _tickSeconds;
        if (now - _windowStart < _interval - Eps) return null;
        var window = _scraped?.Window(_windowStart, now)
            ?? new MetricWindow(default, default, new VersionSample(_nc, _xc), new VersionSample(_ns, _xs));
        _nc = _xc = _ns = _xs = 0;
        _windowStart = now;
        Statistic = Math.Max(0, Statistic + LogLikelihoodRatio(window.Canary.Requests, window.Canary.Failures, window.Control.Requests, window.Control.Failures));
        MaxStatistic = Math.Max(MaxStatistic, Statistic);
        return Statistic >= _threshold ? Decision.Rollback : null;
    }

    /// <summary>
    /// log of P1/P0 for the canary's xc of xc + xs failures, binomial with the canary's share of failures: nc/(nc+ns) when
    /// both fail alike, m·nc/(m·nc+ns) when the canary fails m times as often.
    /// </summary>
    public double LogLikelihoodRatio(long nc, long xc, long ns, long xs)
    {
        if (nc <= 0 || xc + xs == 0) return 0;
        if (ns <= 0) return 0;
        var total = (double)nc + ns;
        var weighted = _multiplier * nc + ns;
        // xc·log(π1/π0) + xs·log((1−π1)/(1−π0)), with π0 = nc/total and π1 = m·nc/weighted.
        return xc * (_logRatio + Math.Log(total / weighted)) + xs * Math.Log(total / weighted);
    }
}
