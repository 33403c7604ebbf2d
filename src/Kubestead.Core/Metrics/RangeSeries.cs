namespace Kubestead.Metrics;

/// <summary>
/// One series of a range answer: its labels and its value at each of the query's steps (point i at start + i·step).
/// A step at which the series had no sample is not <see cref="Present"/> (its value reads NaN), which is not the same as
/// a sample whose value is NaN: the history's differencing tells a series that vanished from one that reported NaN.
/// </summary>
public sealed class RangeSeries
{
    public RangeSeries(IReadOnlyDictionary<string, string> labels, int points)
    {
        Labels = labels;
        Values = new double[points];
        Array.Fill(Values, double.NaN);
        Present = new bool[points];
    }

    public IReadOnlyDictionary<string, string> Labels { get; internal set; }

    /// <summary>The value at each step; NaN where the series had no sample (see <see cref="Present"/>).</summary>
    public double[] Values { get; }

    /// <summary>Whether the series had a sample at each step.</summary>
    public bool[] Present { get; }
}
