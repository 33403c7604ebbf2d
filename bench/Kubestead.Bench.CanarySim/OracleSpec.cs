namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Settings of the <c>oracle</c> engine (issue #29 item 2): the window it sees, the false-abort rate over the horizon
/// its threshold is calibrated to, and how many A/A replicates calibrate it.
/// </summary>
public sealed class OracleSpec
{
    /// <summary>Its window (null: the interval a spec without analysis settings gets in the cell: its scrape interval, else 60 s); never below a scrape.</summary>
    public int? IntervalSeconds { get; set; }

    /// <summary>The false-abort rate over T_max it is calibrated to: the goal the engines are held to.</summary>
    public double FalseAbortRate { get; set; } = 0.025;

    public int CalibrationReplicates { get; set; } = 2000;

    /// <summary>The alternative it tests in cells whose fault has no error multiplier (A/A cells, where its row checks
    /// that the calibration holds on fresh seeds).</summary>
    public double DefaultMultiplier { get; set; } = 5;
}
