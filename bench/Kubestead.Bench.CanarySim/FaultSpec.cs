namespace Kubestead.Bench.CanarySim;

/// <summary>
/// A canary fault: multipliers on stable's error rate and latency, an absolute rate, a tail, an onset, a warm-up (a
/// different error rate for the first seconds after the canary is ready, at t = 0), and a slow degradation (the error
/// multiplier growing linearly after the onset).
/// </summary>
public sealed class FaultSpec
{
    public string Name { get; set; } = "A/A";
    public double ErrorMultiplier { get; set; } = 1;
    public double? AbsoluteErrorRate { get; set; }
    public double LatencyMultiplier { get; set; } = 1;
    public double TailFraction { get; set; }
    public double TailExtraMs { get; set; }
    public double OnsetSeconds { get; set; }
    public double WarmUpSeconds { get; set; }
    public double? WarmUpErrorRate { get; set; }

    /// <summary>The warm-up's error rate as a multiple of p0 (used when <see cref="WarmUpErrorRate"/> is not set).</summary>
    public double? WarmUpMultiplier { get; set; }

    /// <summary>A slowly degrading canary: after the onset the error multiplier grows by this much per minute.</summary>
    public double ErrorSlopePerMinute { get; set; }

    /// <summary>Bad means worse than stable after the warm-up; a canary that is worse only while warming up is good.</summary>
    public bool IsBad => ErrorMultiplier > 1 || AbsoluteErrorRate is not null || LatencyMultiplier > 1 || TailFraction > 0 || ErrorSlopePerMinute > 0;

    /// <summary>The canary's error rate at time t (seconds since the canary became ready).</summary>
    public double ErrorRateAt(double t, double p0)
    {
        if (t < WarmUpSeconds && (WarmUpErrorRate ?? (WarmUpMultiplier is { } m ? m * p0 : null)) is { } warm) return Math.Min(1, warm);
        if (t < OnsetSeconds) return p0;
        if (AbsoluteErrorRate is { } absolute) return absolute;
        return Math.Min(1, p0 * (ErrorMultiplier + ErrorSlopePerMinute * (t - OnsetSeconds) / 60));
    }
}
