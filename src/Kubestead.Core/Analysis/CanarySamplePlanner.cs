namespace Kubestead.Analysis;

public enum PlannedRouting { Binomial, WeightedRoundRobin, Pods }

/// <summary>What a weight, window and request rate let the judges see.</summary>
public sealed record SamplePlan(
    double ExpectedCanaryRequestsPerWindow,
    double EmptyWindowProbability,
    TimeSpan? TimeToDetect,
    long CanaryRequestsToPass,
    IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// The fewest windows in which the default judge can pass, however much traffic each holds: each window multiplies the
    /// pass evidence by a bounded factor (issue #29), so below this no traffic is enough.
    /// </summary>
    public long WindowsToPass { get; init; }

    /// <summary><see cref="WindowsToPass"/> times the window: the shortest time in which a Pass is possible.</summary>
    public TimeSpan TimeToPassFloor { get; init; }
}

/// <summary>
/// Predicts, before a rollout, whether its analysis can reach a verdict: expected canary requests per window, the
/// chance of a window with none (e^(-R·w·T) when each request is routed at random; zero for round robin once
/// R·w·T ≥ 1), and the canary requests the sequential judge needs to pass or to catch a given regression.
/// </summary>
public static class CanarySamplePlanner
{
    public static SamplePlan Plan(double requestsPerSecond, double canaryShare, TimeSpan window, PlannedRouting routing,
        double baselineErrorRate = 0.001, double detectRatio = 5, double alpha = 0.05, TimeSpan? rolloutDuration = null)
    {
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
        TimeSpan? toDetect = canaryFailureRate > 0 ? TimeSpan.FromSeconds(failuresToDetect / canaryFailureRate) : null;
        // Passing: the pass test's window bets (null: detectRatio, alternatives 1 and detectRatio/2, equal weights) grow by
        // an expected log-wealth per window computed exactly below for a healthy canary; the best alternative must reach
        // 2 × threshold (the factor 2 is the pass mixture's weight).
        var canaryPerWindow = requestsPerSecond * canaryShare * window.TotalSeconds;
        var growth = Math.Max(PassGrowthPerWindow(requestsPerSecond * window.TotalSeconds * baselineErrorRate, theta0, detectRatio, 1),
            PassGrowthPerWindow(requestsPerSecond * window.TotalSeconds * baselineErrorRate, theta0, detectRatio, Math.Max(1, detectRatio / 2)));
        var toPass = growth > 0 ? (long)Math.Ceiling((logThreshold + Math.Log(2)) / growth * canaryPerWindow) : long.MaxValue;
        // The window floor: a window's pass bet pays at most 1 + MaxStake·(1/θ0' − 1) (θ0' the mirrored null share), whatever
        // its traffic, so the requests above are never enough in fewer windows than this.
        var windowsToPass = PassWindowFloor(theta0, detectRatio, logThreshold);
        var floor = windowsToPass == long.MaxValue ? TimeSpan.MaxValue : TimeSpan.FromSeconds(windowsToPass * window.TotalSeconds);
        var warnings = new List<string>();
        if (empty > 0.05)
            warnings.Add($"{empty:P0} of {window.TotalSeconds:0}s windows will see no canary request (expected {expected:0.##} per window); the judges will report insufficient data for those");
        if (rolloutDuration is { } d && requestsPerSecond * canaryShare * d.TotalSeconds < toPass)
            warnings.Add($"the canary is expected to serve {requestsPerSecond * canaryShare * d.TotalSeconds:0} requests in {d.TotalMinutes:0} minutes, fewer than the ~{toPass} needed to pass a {detectRatio}x regression test; the rollout will end paused with insufficient data unless traffic or duration grows");
        if (rolloutDuration is { } horizon && floor > horizon)
            warnings.Add($"a Pass needs at least {windowsToPass} windows ({Minutes(floor)} at {window.TotalSeconds:0}s windows) at this share, however much traffic each holds, more than the {horizon.TotalMinutes:0} minutes planned; shorten the interval or raise the weight");
        return new SamplePlan(expected, empty, toDetect, Math.Max(toPass, windowsToPass == long.MaxValue ? long.MaxValue : (long)Math.Ceiling(windowsToPass * canaryPerWindow)), warnings)
        {
            WindowsToPass = windowsToPass,
            TimeToPassFloor = floor,
        };
    }

    /// <summary>
    /// The fewest windows in which the pass mixture can reach the threshold: every alternative's bet is capped at the same
    /// largest factor, so the mixture grows by at most that factor a window.
    /// </summary>
    internal static long PassWindowFloor(double share, double detectRatio, double logThreshold)
    {
        var thetaNull = 1 - detectRatio * share / (detectRatio * share + 1 - share);
        var logMaxFactor = Math.Log(1 + WindowBettingEProcess.MaxStake * (1 / thetaNull - 1));
        return logMaxFactor > 0 ? (long)Math.Ceiling(logThreshold / logMaxFactor) : long.MaxValue;
    }

    private static string Minutes(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} minutes" : $"{t.TotalSeconds:0} seconds";

    /// <summary>
    /// E[log(1 + λ(θ0' − y'))] for one window of the Pass test (mirrored shares) when the canary is as good as control:
    /// failures m ~ Poisson(<paramref name="failuresPerWindow"/>), the canary's x ~ Binomial(m, share).
    /// </summary>
    internal static double PassGrowthPerWindow(double failuresPerWindow, double share, double detectRatio, double alternative)
    {
        var thetaNull = 1 - detectRatio * share / (detectRatio * share + 1 - share);
        var thetaAlt = 1 - alternative * share / (alternative * share + 1 - share);
        var growth = 0.0;
        var pm = Math.Exp(-failuresPerWindow);
        var maxM = (int)Math.Ceiling(failuresPerWindow + 10 * Math.Sqrt(failuresPerWindow) + 10);
        for (var m = 1; m <= maxM; m++)
        {
            pm *= failuresPerWindow / m;
            var stake = WindowBettingEProcess.Stake(thetaNull, thetaAlt, m);
            var px = Math.Pow(1 - share, m);
            for (var x = 0; x <= m; x++)
            {
                var y = 1 - (double)x / m;
                growth += pm * px * Math.Log(1 + stake * (y - thetaNull));
                px *= x < m ? share / (1 - share) * (m - x) / (x + 1) : 0;
            }
        }
        return growth;
    }
}
