namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Sets the oracle's threshold by simulation (issue #29 item 2): the cell's own traffic, environment and scrapes with a
/// good canary (the fault's warm-up kept, its error and latency effects removed), on seeds disjoint from the cell's; the
/// threshold is the smallest value the CUSUM's maximum over T_max exceeds in at most a share
/// <see cref="OracleSpec.FalseAbortRate"/> of those replicates. The oracle's own A/A rows, on the cell's seeds, check it.
/// </summary>
public static class OracleCalibration
{
    // Calibration seeds: the cell's seed with this constant mixed in, so they never coincide with a cell's replicates.
    private const ulong CalibrationStream = 0x6F7261636C65UL;

    public static double Threshold(ScenarioFile s, Cell cell, int cellIndex, ulong baseSeed, double multiplier)
    {
        var spec = s.Oracle ?? new OracleSpec();
        if (spec.FalseAbortRate is <= 0 or >= 1) throw new ArgumentException($"oracle.falseAbortRate must be in (0, 1) (was {spec.FalseAbortRate})");
        if (spec.CalibrationReplicates < 100) throw new ArgumentException($"oracle.calibrationReplicates must be at least 100 (was {spec.CalibrationReplicates})");
        HeldWeight(cell);
        var good = cell with
        {
            Fault = new FaultSpec
            {
                Name = "A/A", WarmUpSeconds = cell.Fault.WarmUpSeconds, WarmUpErrorRate = cell.Fault.WarmUpErrorRate,
                WarmUpMultiplier = cell.Fault.WarmUpMultiplier,
            },
        };
        var maxima = new double[spec.CalibrationReplicates];
        var ticks = s.TMaxSeconds / s.TickSeconds;
        Parallel.For(0, maxima.Length, r =>
        {
            var traffic = new TrafficModel(s, good, new Rng(Rng.Derive(baseSeed ^ CalibrationStream, cellIndex, r)));
            var oracle = Create(s, good, traffic.Scraped, multiplier, double.PositiveInfinity);
            var weight = HeldWeight(good);
            for (var k = 0; k < ticks; k++) oracle.OnTick(traffic.Next(k * s.TickSeconds, weight));
            maxima[r] = oracle.MaxStatistic;
        });
        Array.Sort(maxima);
        Array.Reverse(maxima);
        var allowed = (int)Math.Floor(spec.FalseAbortRate * maxima.Length);
        // Alarm at S >= h: only the `allowed` largest maxima lie strictly above maxima[allowed].
        return NextUp(maxima[allowed]);
    }

    /// <summary>The fault size the oracle knows: the error multiplier (or the absolute rate over p0), else the default.</summary>
    public static double Multiplier(ScenarioFile s, FaultSpec fault)
    {
        if (fault.AbsoluteErrorRate is { } absolute) return absolute / s.P0;
        return fault.ErrorMultiplier > 1 ? fault.ErrorMultiplier : (s.Oracle ?? new OracleSpec()).DefaultMultiplier;
    }

    public static OraclePolicy Create(ScenarioFile s, Cell cell, IScrapedCounts? scraped, double multiplier, double threshold)
    {
        HeldWeight(cell);
        var interval = IntervalSeconds(s, cell);
        return new OraclePolicy(multiplier, interval, s.TickSeconds, threshold, scraped, cell.Environment?.Scrape?.IntervalSeconds);
    }

    /// <summary>The oracle's window in this cell: the scenario's, else the interval <c>default</c> runs at there (issue #29 item 2: the same interval).</summary>
    public static double IntervalSeconds(ScenarioFile s, Cell cell)
    {
        if ((s.Oracle ?? new OracleSpec()).IntervalSeconds is { } given) return given;
        // As the default engine closes its windows: at the first tick that ends at least one interval after the start.
        var resolved = SpecDefaultVariant.Create(cell.Environment?.Scrape?.IntervalSeconds).IntervalSeconds!.Value;
        return Math.Ceiling((double)resolved / s.TickSeconds) * s.TickSeconds;
    }

    /// <summary>
    /// The one weight the oracle's traffic runs at: the cell's, or the weight every step of a schedule holds (a pause at
    /// one weight, so the engines' background test runs through it); the oracle sets no weights, so other schedules are refused.
    /// </summary>
    public static double? HeldWeight(Cell cell)
    {
        if (cell.Schedule is not { IsEngineDriven: true } schedule) return null;
        var first = schedule.Steps[0].Weight;
        if (schedule.Steps.Any(x => x.Weight != first))
            throw new ArgumentException($"schedule '{schedule.Name}': the oracle judges one held weight only (it sets no weights)");
        return first;
    }

    private static double NextUp(double x) => Math.BitIncrement(Math.Max(x, 0));
}
