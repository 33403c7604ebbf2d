namespace Kubestead.Analysis;

/// <summary>
/// How the background test restarts (issues #12, #29): a new component e-process starts every <paramref name="Spacing"/>.
/// The first start has prior weight <paramref name="FirstWeight"/> (a fault present from the start is the common case).
/// The rest, 1 − FirstWeight, is spread over the planned rollout: the starts within <paramref name="PlannedLength"/>
/// (N = ⌈PlannedLength / Spacing⌉ of them) share 1 − <paramref name="TailWeight"/> of it equally, so a fault that begins
/// anywhere in the plan is judged by a start of the same weight; the starts after the plan (a rollout held by a pause,
/// or waiting for data) share the tail, the k-th one N/((k−1)k) of it, a sum that telescopes, so the weights of all
/// starts, however many, sum to exactly 1 and a rollout that outlasts its plan is still judged.
/// </summary>
public sealed record RestartMixtureOptions(TimeSpan Spacing, double FirstWeight, TimeSpan PlannedLength, double TailWeight)
{
    /// <summary>
    /// The schedule when the plan's length is not known (steps without durations): half an hour of starts every 30 s
    /// (chosen by measurement: bench/results/settings-effects.md, "Background analysis").
    /// </summary>
    public static readonly RestartMixtureOptions Default = new(TimeSpan.FromSeconds(30), 0.5, TimeSpan.FromMinutes(30), 0.25);

    /// <summary>The engine's schedule for a rollout planned to last <paramref name="plannedLength"/> (the default's when that is shorter than one spacing).</summary>
    public static RestartMixtureOptions ForPlannedLength(TimeSpan plannedLength) =>
        plannedLength >= Default.Spacing ? Default with { PlannedLength = plannedLength } : Default;

    /// <summary>The starts that share the plan's weight equally.</summary>
    public long PlannedStarts => Math.Max(1, (long)Math.Ceiling(PlannedLength.TotalSeconds / Spacing.TotalSeconds - 1e-9));

    /// <summary>The prior weight of start <paramref name="k"/> (0 is the first).</summary>
    public double Weight(long k) => WeightFrom(k) - WeightFrom(k + 1);

    /// <summary>The weight of every start from <paramref name="k"/> on: 1 − (weights of starts 0 .. k−1).</summary>
    public double WeightFrom(long k)
    {
        if (k <= 0) return 1;
        var n = PlannedStarts;
        // Linear in k inside the plan (equal weights), then the tail's N/(k−1), which is continuous at k = N + 1 and tends to 0.
        return k <= n + 1
            ? (1 - FirstWeight) * (1 - (1 - TailWeight) * (k - 1) / n)
            : (1 - FirstWeight) * TailWeight * n / (k - 1);
    }

    /// <summary>Throws naming the field when a value cannot make a valid mixture.</summary>
    public void Validate()
    {
        if (!(Spacing > TimeSpan.Zero)) throw new ArgumentOutOfRangeException(nameof(Spacing), Spacing, "the restart spacing must be positive");
        if (!(FirstWeight > 0 && FirstWeight < 1)) throw new ArgumentOutOfRangeException(nameof(FirstWeight), FirstWeight, "the first start's weight must lie strictly between 0 and 1");
        if (!(PlannedLength > TimeSpan.Zero)) throw new ArgumentOutOfRangeException(nameof(PlannedLength), PlannedLength, "the planned rollout length must be positive");
        if (!(TailWeight > 0 && TailWeight < 1)) throw new ArgumentOutOfRangeException(nameof(TailWeight), TailWeight, "the weight of the starts after the plan must lie strictly between 0 and 1");
    }
}
