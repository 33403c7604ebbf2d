namespace Kubestead.Bench.CanarySim;

/// <summary>
/// How the request rate varies in time around its mean R (issue #12): <c>constant</c>; <c>bursts</c> (on for
/// <see cref="OnSeconds"/> at R·(on+off)/on, then off for <see cref="OffSeconds"/> at 0); <c>diurnal</c>
/// (R·(1 + A·sin(2πt/P + φ))). Each replicate draws its phase uniformly, so every shape has mean rate R.
/// </summary>
public sealed class TrafficShape
{
    public string Name { get; set; } = "constant";
    public string Kind { get; set; } = "constant";
    public double OnSeconds { get; set; } = 60;
    public double OffSeconds { get; set; } = 240;
    public double PeriodSeconds { get; set; } = 3600;
    public double Amplitude { get; set; } = 0.8;

    public bool IsConstant => Kind == "constant";

    /// <summary>The phase's range: a replicate's phase is uniform on [0, PhaseRange).</summary>
    public double PhaseRange => Kind switch { "bursts" => OnSeconds + OffSeconds, "diurnal" => 2 * Math.PI, _ => 0 };

    /// <summary>The rate multiplier averaged over [t, t + dt) (exact, so a tick's Poisson mean is the integral of the rate).</summary>
    public double MeanMultiplier(double t, double dt, double phase)
    {
        switch (Kind)
        {
            case "constant":
                return 1;
            case "bursts":
            {
                var period = OnSeconds + OffSeconds;
                double OnTimeUntil(double x)
                {
                    var shifted = x + phase;
                    var full = Math.Floor(shifted / period);
                    return full * OnSeconds + Math.Min(OnSeconds, shifted - full * period);
                }
                return (OnTimeUntil(t + dt) - OnTimeUntil(t)) / dt * period / OnSeconds;
            }
            case "diurnal":
            {
                var omega = 2 * Math.PI / PeriodSeconds;
                return 1 + Amplitude * (Math.Cos(omega * t + phase) - Math.Cos(omega * (t + dt) + phase)) / (omega * dt);
            }
            default:
                throw new ArgumentException($"unknown traffic shape '{Kind}'");
        }
    }
}
