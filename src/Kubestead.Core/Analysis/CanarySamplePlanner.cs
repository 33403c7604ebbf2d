namespace Kubestead.Analysis;

public enum PlannedRouting { Binomial, WeightedRoundRobin, Pods }

/// <summary>What a weight, window and request rate let the judges see.</summary>
public sealed record SamplePlan(
    double ExpectedCanaryRequestsPerWindow,
    double EmptyWindowProbability,
    TimeSpan? TimeToDetect,
    long CanaryRequestsToPass,
    IReadOnlyList<string> Warnings);

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
        var logThreshold = Math.Log(1 / alpha);
        // Failures needed on the canary alone (control silent) for the fail test's best alternative to cross 1/α, against
        // a mixture of 7 alternatives: each canary failure adds log(θ1/θ0), θ0 = w, θ1 = ρw/(ρw + 1 - w).
        var theta0 = Math.Clamp(canaryShare, 1e-9, 1 - 1e-9);
        var rho = Math.Max(detectRatio, 1.5);
        var theta1 = rho * theta0 / (rho * theta0 + 1 - theta0);
        var failuresToDetect = Math.Ceiling((logThreshold + Math.Log(7)) / Math.Log(theta1 / theta0));
        var canaryFailureRate = requestsPerSecond * canaryShare * baselineErrorRate * detectRatio;
        TimeSpan? toDetect = canaryFailureRate > 0 ? TimeSpan.FromSeconds(failuresToDetect / canaryFailureRate) : null;
        // Passing needs the control's failures to outweigh what a detectRatio-times-worse canary would have produced:
        // about log(1/α) / (D·p0·(1 - 1/D)) canary requests when stable dominates the traffic.
        var toPass = (long)Math.Ceiling(logThreshold / (baselineErrorRate * (detectRatio - 1 - Math.Log(detectRatio))));
        var warnings = new List<string>();
        if (empty > 0.05)
            warnings.Add($"{empty:P0} of {window.TotalSeconds:0}s windows will see no canary request (expected {expected:0.##} per window); the judges will report insufficient data for those");
        if (rolloutDuration is { } d && requestsPerSecond * canaryShare * d.TotalSeconds < toPass)
            warnings.Add($"the canary is expected to serve {requestsPerSecond * canaryShare * d.TotalSeconds:0} requests in {d.TotalMinutes:0} minutes, fewer than the ~{toPass} needed to pass a {detectRatio}x regression test; the rollout will end paused with insufficient data unless traffic or duration grows");
        return new SamplePlan(expected, empty, toDetect, toPass, warnings);
    }
}
