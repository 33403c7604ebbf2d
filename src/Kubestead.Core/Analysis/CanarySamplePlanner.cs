using MathNet.Numerics;

namespace Kubestead.Analysis;

public enum PlannedRouting { Binomial, WeightedRoundRobin, Pods }

/// <summary>What a weight, window and request rate let the judges see.</summary>
public sealed record SamplePlan(
    double ExpectedCanaryRequestsPerWindow,
    double EmptyWindowProbability,
    TimeSpan? TimeToDetect,
    long? CanaryRequestsToPass,
    IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// The fewest windows in which the default judge can pass, however much traffic each holds: each window multiplies the
    /// pass evidence by a bounded factor (issue #29), so below this no traffic is enough. Null when no number of windows
    /// is (the canary gets no traffic).
    /// </summary>
    public long? WindowsToPass { get; init; }

    /// <summary><see cref="WindowsToPass"/> times the window: the shortest time in which a Pass is possible (null: never).</summary>
    public TimeSpan? TimeToPassFloor { get; init; }
}

/// <summary>
/// Predicts, before a rollout, whether its analysis can reach a verdict: expected canary requests per window, the
/// chance of a window with none (e^(-R·w·T) when each request is routed at random; zero for round robin once
/// R·w·T ≥ 1), and the canary requests the sequential judge needs to pass or to catch a given regression.
/// Unreachable figures are null (one sentinel): no traffic, no share, or more requests than a long holds.
/// </summary>
public static class CanarySamplePlanner
{
    /// <summary>Above this many failures a window, the window's failure count is taken as normal (Poisson's own limit).</summary>
    internal const double ExactFailuresLimit = 400;

    /// <summary>Above this variance, the canary's failures among a window's are taken as normal rather than binomial.</summary>
    internal const double ExactBinomialVariance = 100;

    /// <summary>Tails beyond this many standard deviations (plus a constant for small means) carry nothing a plan shows.</summary>
    private const double TailSigmas = 12;

    private const int NormalNodes = 61;

    public static SamplePlan Plan(double requestsPerSecond, double canaryShare, TimeSpan window, PlannedRouting routing,
        double baselineErrorRate = 0.001, double detectRatio = 5, double alpha = 0.05, TimeSpan? rolloutDuration = null,
        double passPodAllowance = 1, CancellationToken cancellationToken = default)
    {
        // The pods' band D' (SequentialCountJudge.PassPodAllowance) scales the Pass test's canary exposure by 1/D': the same
        // bet as against the null detectRatio/D', with its alternatives divided by D' too.
        var band = double.IsFinite(passPodAllowance) ? Math.Max(1, passPodAllowance) : double.PositiveInfinity;
        var passRatio = detectRatio / band;
        var expected = requestsPerSecond * canaryShare * window.TotalSeconds;
        var empty = routing switch
        {
            PlannedRouting.WeightedRoundRobin => expected >= 1 ? 0 : 1 - expected,
            _ => Math.Exp(-expected),
        };
        // The default judge decides at e >= 2/α (each direction at α/2) on the window bets.
        var logThreshold = Math.Log(SequentialCountJudge.DecisionThreshold(new SequentialJudgeOptions(alpha, detectRatio)));
        // Failures needed on the canary alone (control silent) for the fail test's detectRatio alternative to cross the
        // threshold: with one failure a window, each adds log(θ1/θ0), θ0 = w, θ1 = ρw/(ρw + 1 - w); that alternative has
        // prior weight 0.45 in the mixture.
        var theta0 = Math.Clamp(canaryShare, 1e-9, 1 - 1e-9);
        var rho = Math.Max(detectRatio, 1.5);
        var theta1 = rho * theta0 / (rho * theta0 + 1 - theta0);
        var failuresToDetect = Math.Ceiling((logThreshold + Math.Log(1 / 0.45)) / Math.Log(theta1 / theta0));
        var canaryFailureRate = requestsPerSecond * canaryShare * baselineErrorRate * detectRatio;
        TimeSpan? toDetect = canaryFailureRate > 0 ? SecondsOrNever(failuresToDetect / canaryFailureRate) : null;
        // A canary that gets no request can never pass: every pass figure is null rather than a huge or zero number.
        var reachable = expected > 0 && canaryShare > 0;
        long? toPass = null;
        long? windowsToPass = null;
        if (reachable)
        {
            // Passing: the pass test's window bets (null: detectRatio, alternatives 1 and detectRatio/2, equal weights) grow
            // by an expected log-wealth per window computed below for a healthy canary; the best alternative must reach
            // 2 × threshold (the factor 2 is the pass mixture's weight).
            var failuresPerWindow = requestsPerSecond * window.TotalSeconds * baselineErrorRate;
            // A null at or below the control's own rate cannot be beaten by a canary as good as control: no Pass at all.
            var growth = passRatio > 1
                ? Math.Max(PassGrowthPerWindow(failuresPerWindow, theta0, passRatio, 1 / band, cancellationToken),
                    PassGrowthPerWindow(failuresPerWindow, theta0, passRatio, Math.Max(1, detectRatio / 2) / band, cancellationToken))
                : 0;
            // The window floor: a window's pass bet pays at most 1 + MaxStake·(1/θ0' − 1) (θ0' the mirrored null share),
            // whatever its traffic, so the requests above are never enough in fewer windows than this.
            windowsToPass = passRatio > 1 ? PassWindowFloor(theta0, passRatio, logThreshold) : null;
            if (growth > 0 && windowsToPass is { } floorWindows)
                toPass = WholeOrNever(Math.Max((logThreshold + Math.Log(2)) / growth, floorWindows) * expected);
        }
        var floor = windowsToPass is { } w ? SecondsOrNever(w * window.TotalSeconds) : null;
        var warnings = new List<string>();
        if (reachable && band > 1)
            warnings.Add(passRatio > 1
                ? $"the pods' persistent dispersion narrows the Pass test to showing the canary under {passRatio:0.##}x control's rate (detectRatio {detectRatio:0.##} over the pods' band {band:0.##}); the figures to pass include it"
                : $"the pods' persistent dispersion (band {(double.IsFinite(band) ? $"{band:0.##}" : "unbounded")}) narrows the Pass test to under {passRatio:0.##}x control's rate, which a canary as good as control cannot show: no Pass can come while the pods differ this much");
        if (empty > 0.05)
            warnings.Add($"{empty:P0} of {window.TotalSeconds:0}s windows will see no canary request (expected {expected:0.##} per window); the judges will report insufficient data for those");
        if (rolloutDuration is { } d && (toPass is null || requestsPerSecond * canaryShare * d.TotalSeconds < toPass))
            warnings.Add($"the canary is expected to serve {requestsPerSecond * canaryShare * d.TotalSeconds:0} requests in {d.TotalMinutes:0} minutes, "
                + (toPass is { } n ? $"fewer than the ~{n} needed" : "and no number of requests is enough")
                + $" to pass a {detectRatio}x regression test; the rollout will end paused with insufficient data unless traffic or duration grows");
        if (rolloutDuration is { } horizon && floor is { } f && f > horizon)
            warnings.Add($"a Pass needs at least {windowsToPass} windows ({Minutes(f)} at {window.TotalSeconds:0}s windows) at this share, however much traffic each holds, more than the {horizon.TotalMinutes:0} minutes planned; shorten the interval or raise the weight");
        return new SamplePlan(expected, empty, toDetect, toPass, warnings)
        {
            WindowsToPass = windowsToPass,
            TimeToPassFloor = floor,
        };
    }

    /// <summary>
    /// The fewest windows in which the pass mixture can reach the threshold: every alternative's bet is capped at the same
    /// largest factor, so the mixture grows by at most that factor a window. Null when no bet can grow.
    /// </summary>
    internal static long? PassWindowFloor(double share, double detectRatio, double logThreshold)
    {
        var thetaNull = 1 - detectRatio * share / (detectRatio * share + 1 - share);
        var logMaxFactor = Math.Log(1 + WindowBettingEProcess.MaxStake * (1 / thetaNull - 1));
        return logMaxFactor > 0 ? WholeOrNever(logThreshold / logMaxFactor) : null;
    }

    private static long? WholeOrNever(double count) =>
        double.IsFinite(count) && Math.Ceiling(count) < long.MaxValue ? (long)Math.Ceiling(count) : null;

    private static TimeSpan? SecondsOrNever(double seconds) =>
        double.IsFinite(seconds) && seconds < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;

    private static string Minutes(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} minutes" : $"{t.TotalSeconds:0} seconds";

    /// <summary>
    /// E[log(1 + λ(θ0' − y'))] for one window of the Pass test (mirrored shares) when the canary is as good as control:
    /// failures m ~ Poisson(<paramref name="failuresPerWindow"/>), the canary's x ~ Binomial(m, share).
    /// </summary>
    internal static double PassGrowthPerWindow(double failuresPerWindow, double share, double detectRatio, double alternative,
        CancellationToken cancellationToken = default) =>
        PassGrowth(failuresPerWindow, share, detectRatio, alternative, cancellationToken).Growth;

    /// <summary>
    /// The expectation as a sum over a bounded set of (m, x) terms, weighted in log space so that no probability underflows
    /// (e^(−λ) is 0 in a double from λ ≈ 745, about 12,500 rps at 0.1% errors and one-minute windows). Exact sums while
    /// the distributions are small; beyond <see cref="ExactFailuresLimit"/> and <see cref="ExactBinomialVariance"/> their
    /// normal approximations on a fixed grid, so the work stays a few hundred thousand terms whatever the traffic.
    /// </summary>
    internal static (double Growth, long Terms) PassGrowth(double failuresPerWindow, double share, double detectRatio, double alternative,
        CancellationToken cancellationToken = default)
    {
        var thetaNull = 1 - detectRatio * share / (detectRatio * share + 1 - share);
        var thetaAlt = 1 - alternative * share / (alternative * share + 1 - share);
        var growth = 0.0;
        long terms = 0;
        foreach (var (m, pm) in FailureCounts(failuresPerWindow))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stake = WindowBettingEProcess.Stake(thetaNull, thetaAlt, m);
            if (stake == 0) continue;
            var inner = 0.0;
            foreach (var (canaryFraction, px) in CanaryFractions(m, share))
            {
                var y = 1 - canaryFraction;
                inner += px * Math.Log(1 + stake * (y - thetaNull));
                terms++;
            }
            growth += pm * inner;
        }
        return (growth, terms);
    }

    /// <summary>Window failure counts m ≥ 1 with their probabilities (normalised over the terms kept).</summary>
    private static List<(long M, double P)> FailureCounts(double lambda)
    {
        var counts = new List<(long, double)>();
        if (lambda <= 0) return counts;
        if (lambda <= ExactFailuresLimit)
        {
            var spread = TailSigmas * Math.Sqrt(lambda) + TailSigmas;
            var last = (long)Math.Ceiling(lambda + spread);
            var logLambda = Math.Log(lambda);
            // m = 0 (no failure, no bet) keeps its share of the mass: only m ≥ 1 are listed.
            for (var m = 1L; m <= last; m++)
                counts.Add((m, Math.Exp(-lambda + m * logLambda - SpecialFunctions.GammaLn(m + 1))));
            return counts;
        }
        foreach (var (z, p) in NormalGrid)
        {
            var m = (long)Math.Round(lambda + z * Math.Sqrt(lambda));
            if (m >= 1) counts.Add((m, p));
        }
        return counts;
    }

    /// <summary>The canary's fraction x/m of a window's m failures, x ~ Binomial(m, share), with probabilities summing to 1.</summary>
    private static List<(double Fraction, double P)> CanaryFractions(long m, double share)
    {
        var fractions = new List<(double, double)>();
        var mean = m * share;
        var variance = mean * (1 - share);
        if (variance <= ExactBinomialVariance)
        {
            var spread = TailSigmas * Math.Sqrt(variance) + TailSigmas;
            var first = (long)Math.Max(0, Math.Floor(mean - spread));
            var last = (long)Math.Min(m, Math.Ceiling(mean + spread));
            var logChoose = SpecialFunctions.GammaLn(m + 1.0);
            double logShare = Math.Log(share), logRest = Math.Log(1 - share), total = 0;
            for (var x = first; x <= last; x++)
            {
                var p = Math.Exp(logChoose - SpecialFunctions.GammaLn(x + 1.0) - SpecialFunctions.GammaLn(m - x + 1.0) + x * logShare + (m - x) * logRest);
                fractions.Add(((double)x / m, p));
                total += p;
            }
            return total > 0 ? fractions.ConvertAll(f => (f.Item1, f.Item2 / total)) : fractions;
        }
        var sd = Math.Sqrt(variance);
        foreach (var (z, p) in NormalGrid)
            fractions.Add((Math.Clamp((mean + z * sd) / m, 0, 1), p));
        return fractions;
    }

    /// <summary>A midpoint grid on ±6σ of the standard normal, weights normalised to 1 (immutable once built).</summary>
    private static readonly IReadOnlyList<(double Z, double P)> NormalGrid = BuildNormalGrid();

    private static (double, double)[] BuildNormalGrid()
    {
        const double halfWidth = 6;
        var step = 2 * halfWidth / NormalNodes;
        var nodes = Enumerable.Range(0, NormalNodes).Select(i => -halfWidth + (i + 0.5) * step).ToArray();
        var weights = nodes.Select(z => Math.Exp(-z * z / 2)).ToArray();
        var total = weights.Sum();
        return nodes.Select((z, i) => (z, weights[i] / total)).ToArray();
    }
}
