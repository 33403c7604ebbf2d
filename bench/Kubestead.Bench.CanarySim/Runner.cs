using System.Globalization;
using System.Text;

namespace Kubestead.Bench.CanarySim;

/// <summary>One engine's result in one replicate.</summary>
/// <param name="Blast">Failed canary requests served until the decision (or T_max).</param>
/// <param name="BlastAfterOnset">The same, counting only requests served from the fault's onset on.</param>
public sealed record Outcome(Decision? Decision, double TimeSeconds, long Blast, long BlastAfterOnset = 0);

/// <summary>One engine in one cell over all replicates; verdict times are given for all decisions and per verdict.</summary>
public sealed record CellResult(Cell Cell, string Engine, int Replicates, int Rollbacks, int Promotions, double BlastMean, double? BlastP95,
    double? TimeMedian, double? TimeP90, double EmptyMinuteShare, double AchievedShare,
    double? RollbackTimeMedian = null, double? RollbackTimeP90 = null, double? PromotionTimeMedian = null, double? PromotionTimeP90 = null,
    double BlastAfterOnsetMean = double.NaN, double? BlastAfterOnsetP95 = null, int Exposed = 0, int ExposedRollbacks = 0,
    double? OracleThreshold = null)
{
    // Exposed: replicates whose verdict (if any) came after the fault's onset; ExposedRollbacks: those rolled back.

    public int Insufficient => Replicates - Rollbacks - Promotions;
}

/// <summary>
/// Runs every replicate of every cell (in parallel, seeded per replicate, aggregated in a fixed order). Static cells
/// share one traffic stream among all engines; in a cell with an engine-driven weight schedule each engine sets its own
/// weight, so each gets its own traffic from the same seed (common random numbers up to the first weight difference).
/// </summary>
public static class Runner
{
    /// <summary>Mixed into a replicate's seed for its control history's own generator (the rollout's draws stay as they were).</summary>
    private const ulong HistorySalt = 0x4849_5354_4F52_5929UL;

    public static List<CellResult> Run(ScenarioFile s, IReadOnlyList<string> engines, int? replicates = null, ulong? seed = null)
    {
        var n = replicates ?? s.Replicates;
        var baseSeed = seed ?? s.Seed;
        var results = new List<CellResult>();
        var cells = s.Cells().ToList();
        // The oracle's threshold is calibrated per cell; the uniform oracle takes the largest over its group (below).
        var thresholds = engines.Contains("oracle") || engines.Contains(OracleUniform)
            ? cells.Select((c, i) => OracleCalibration.Threshold(s, c, i, baseSeed, OracleCalibration.Multiplier(s, c.Fault))).ToArray()
            : null;
        for (var ci = 0; ci < cells.Count; ci++)
        {
            var cell = cells[ci];
            var outcomes = new Outcome[n, engines.Count];
            var empty = new double[n];
            var share = new double[n];
            var cellIndex = ci;
            double? oracleThreshold = thresholds?[ci];
            double? uniformThreshold = thresholds is null ? null
                : Enumerable.Range(0, cells.Count).Where(cj => OracleGroup(s, cells[cj]) == OracleGroup(s, cell)).Max(cj => thresholds[cj]);
            double? ThresholdOf(string engine) => engine == "oracle" ? oracleThreshold : engine == OracleUniform ? uniformThreshold : null;
            Parallel.For(0, n, r =>
            {
                var replicateSeed = Rng.Derive(baseSeed, cellIndex, r);
                var engineDriven = cell.Schedule is { IsEngineDriven: true };
                var traffics = Enumerable.Range(0, engineDriven ? engines.Count : 1)
                    .Select(_ => new TrafficModel(s, cell, new Rng(replicateSeed), replicateSeed ^ HistorySalt)).ToArray();
                var policies = engines.Select((e, i) => EngineRegistry.Create(e, s, cell, traffics[engineDriven ? i : 0].Scraped, ThresholdOf(e),
                    traffics[engineDriven ? i : 0].ControlHistory)).ToArray();
                var firstWeight = cell.Schedule is { IsEngineDriven: true } sched ? sched.Steps[0].Weight : cell.Weight;
                var done = new Outcome?[engines.Count];
                var blast = new long[traffics.Length];
                var blastAfterOnset = new long[traffics.Length];
                int minutes = 0, emptyMinutes = 0, minuteCanary = 0, ticksInMinute = 0;
                var ticks = s.TMaxSeconds / s.TickSeconds;
                for (var k = 0; k < ticks && done.Any(d => d is null); k++)
                {
                    var t = k * s.TickSeconds;
                    Tick? shared = null;
                    for (var e = 0; e < policies.Length; e++)
                    {
                        if (done[e] is not null) continue;
                        var ti = engineDriven ? e : 0;
                        Tick tick;
                        if (engineDriven || shared is null)
                        {
                            tick = traffics[ti].Next(t, engineDriven ? policies[e].Weight ?? firstWeight : null);
                            blast[ti] += tick.Xc;
                            if (t >= cell.Fault.OnsetSeconds) blastAfterOnset[ti] += tick.Xc;
                            if (ti == 0) CountMinute(tick);
                            if (!engineDriven) shared = tick;
                        }
                        else tick = shared;
                        if (policies[e].OnTick(tick) is { } d)
                            done[e] = new Outcome(d, (k + 1) * s.TickSeconds, blast[ti], blastAfterOnset[ti]);
                    }
                }
                for (var e = 0; e < engines.Count; e++)
                {
                    var ti = engineDriven ? e : 0;
                    outcomes[r, e] = done[e] ?? new Outcome(null, s.TMaxSeconds, blast[ti], blastAfterOnset[ti]);
                }
                empty[r] = minutes == 0 ? 0 : (double)emptyMinutes / minutes;
                share[r] = traffics[0].Total == 0 ? 0 : (double)traffics[0].CanaryTotal / traffics[0].Total;

                void CountMinute(Tick tick)
                {
                    minuteCanary += tick.Nc;
                    if (++ticksInMinute * s.TickSeconds >= 60)
                    {
                        minutes++;
                        if (minuteCanary == 0) emptyMinutes++;
                        ticksInMinute = minuteCanary = 0;
                    }
                }
            });
            for (var e = 0; e < engines.Count; e++)
            {
                var all = Enumerable.Range(0, n).Select(r => outcomes[r, e]).ToList();
                var rollbacks = all.Where(o => o.Decision == Decision.Rollback).ToList();
                var decided = all.Where(o => o.Decision is not null).Select(o => o.TimeSeconds).Order().ToList();
                var rollbackTimes = rollbacks.Select(o => o.TimeSeconds).Order().ToList();
                var promotionTimes = all.Where(o => o.Decision == Decision.Promote).Select(o => o.TimeSeconds).Order().ToList();
                var blasts = rollbacks.Select(o => (double)o.Blast).Order().ToList();
                var afterOnset = rollbacks.Select(o => (double)o.BlastAfterOnset).Order().ToList();
                results.Add(new CellResult(cell, engines[e], n, rollbacks.Count, all.Count(o => o.Decision == Decision.Promote),
                    blasts.Count == 0 ? double.NaN : blasts.Average(), blasts.Count == 0 ? null : Percentile(blasts, 0.95),
                    decided.Count == 0 ? null : Percentile(decided, 0.5), decided.Count == 0 ? null : Percentile(decided, 0.9),
                    empty.Average(), share.Average(),
                    Median(rollbackTimes), P90(rollbackTimes), Median(promotionTimes), P90(promotionTimes),
                    afterOnset.Count == 0 ? double.NaN : afterOnset.Average(), afterOnset.Count == 0 ? null : Percentile(afterOnset, 0.95),
                    all.Count(o => o.Decision is null || o.TimeSeconds > cell.Fault.OnsetSeconds),
                    all.Count(o => o.Decision == Decision.Rollback && o.TimeSeconds > cell.Fault.OnsetSeconds),
                    ThresholdOf(engines[e])));
            }
        }
        return results;
    }

    /// <summary>
    /// The oracle with one threshold for a whole group of cells (an experiment, issue #29): the largest of the per-cell
    /// thresholds among the cells that differ only in the pods' heterogeneity and persistence and in the fault's onset, at
    /// the same traffic, weight, routing, schedule, shape, window, scrapes, pod counts and alternative. It knows the
    /// fault's size and what a drive can see (traffic, weight, pods), as the oracle does, but not how the pods' rates
    /// differ and persist, so it is valid in each of the group's environments (docs/benchmark.md, "The oracle").
    /// </summary>
    public const string OracleUniform = "oracle-uniform";

    private static string OracleGroup(ScenarioFile s, Cell c) => string.Join("|", c.Routing, c.Rps, c.Weight, c.Schedule?.Name, c.Shape?.Name,
        OracleCalibration.Multiplier(s, c.Fault), OracleCalibration.IntervalSeconds(s, c), c.Environment?.Scrape?.IntervalSeconds,
        c.Environment?.PodsStable, c.Environment?.PodsCanary);

    private static double? Median(List<double> sorted) => sorted.Count == 0 ? null : Percentile(sorted, 0.5);

    private static double? P90(List<double> sorted) => sorted.Count == 0 ? null : Percentile(sorted, 0.9);

    private static double Percentile(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    public static (double Low, double High) Wilson(int successes, int n, double z = 1.96)
    {
        if (n == 0) return (0, 1);
        var p = (double)successes / n;
        var denom = 1 + z * z / n;
        var centre = (p + z * z / (2 * n)) / denom;
        var half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denom;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    public const string CsvHeader = "scenario,engine,routing,rps,weight,fault,replicates,catch_rate,escape_rate,false_abort_rate,insufficient_rate,blast_mean,blast_p95,verdict_time_median_s,verdict_time_p90_s,"
        + "rollback_time_median_s,rollback_time_p90_s,promotion_time_median_s,promotion_time_p90_s,blast_after_onset_mean,blast_after_onset_p95,"
        + "exposed,catch_rate_exposed,blast_ratio_to_oracle";

    /// <summary>
    /// The engine's mean blast over the oracle's in the same cell (issue #29 item 2): after the onset when the fault starts
    /// late, else from the start; null without an oracle row, or when either caught nothing.
    /// </summary>
    public static double? RatioToOracle(CellResult r, IEnumerable<CellResult> results)
    {
        if (!r.Cell.Fault.IsBad) return null;
        var oracle = results.FirstOrDefault(o => o.Engine == "oracle" && ReferenceEquals(o.Cell, r.Cell));
        if (oracle is null) return null;
        var late = r.Cell.Fault.OnsetSeconds > 0;
        var (mine, best) = late ? (r.BlastAfterOnsetMean, oracle.BlastAfterOnsetMean) : (r.BlastMean, oracle.BlastMean);
        return double.IsNaN(mine) || double.IsNaN(best) || best <= 0 ? null : mine / best;
    }

    public static string Csv(IEnumerable<CellResult> results)
    {
        var rows = results.ToList();
        static string F(double? d) => d is { } x && !double.IsNaN(x) ? x.ToString("0.######", CultureInfo.InvariantCulture) : "";
        var sb = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            var bad = r.Cell.Fault.IsBad;
            sb.Append(string.Join(",",
                r.Cell.Scenario, r.Engine, r.Cell.Routing, F(r.Cell.Rps), F(r.Cell.Weight), r.Cell.FaultLabel, r.Replicates.ToString(CultureInfo.InvariantCulture),
                bad ? F((double)r.Rollbacks / r.Replicates) : "", bad ? F((double)r.Promotions / r.Replicates) : "",
                bad ? "" : F((double)r.Rollbacks / r.Replicates), F((double)r.Insufficient / r.Replicates),
                bad ? F(r.BlastMean) : "", bad ? F(r.BlastP95) : "", F(r.TimeMedian), F(r.TimeP90),
                F(r.RollbackTimeMedian), F(r.RollbackTimeP90), F(r.PromotionTimeMedian), F(r.PromotionTimeP90),
                bad ? F(r.BlastAfterOnsetMean) : "", bad ? F(r.BlastAfterOnsetP95) : "", r.Exposed.ToString(CultureInfo.InvariantCulture),
                bad && r.Exposed > 0 ? F((double)r.ExposedRollbacks / r.Exposed) : "", F(RatioToOracle(r, rows)))).Append('\n');
        }
        return sb.ToString();
    }
}
