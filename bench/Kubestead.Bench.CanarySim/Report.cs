using System.Globalization;
using System.Text;

namespace Kubestead.Bench.CanarySim;

/// <summary>The markdown table and SVG plot of a run.</summary>
public static class Report
{
    private static string P(double x) => (100 * x).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Rate(int k, int n)
    {
        var (lo, hi) = Runner.Wilson(k, n);
        return $"{P((double)k / n)} [{P(lo)}, {P(hi)}]";
    }

    /// <summary>The engine's name; "(limit)" for variants no spec can reach; the oracle with its calibrated threshold.</summary>
    private static string Label(ScenarioFile s, CellResult r) =>
        s.EngineVariants.FirstOrDefault(v => v.Name == r.Engine) is { Limit: true } ? r.Engine + " (limit)"
        : r.OracleThreshold is { } h ? $"{r.Engine} (h = {h.ToString("0.00", CultureInfo.InvariantCulture)})"
        : r.Engine;

    private static string Ratio(CellResult r, List<CellResult> results) =>
        r.Engine == "oracle" ? "1" : Runner.RatioToOracle(r, results) is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-";

    public static string Markdown(ScenarioFile s, List<CellResult> results, IReadOnlyList<string> engines, int replicates, ulong seed, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# CANARY-SIM v1: {s.Name}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{replicates} replicates per cell, seed {seed}, T_max {s.TMaxSeconds} s, p0 {s.P0}, ticks of {s.TickSeconds} s; computed in {elapsed.TotalSeconds:0} s.");
        sb.AppendLine("Rates with Wilson 95% intervals. Bad canaries: catch = rolled back, escape = promoted. Good canaries (A/A): false abort = rolled back.");
        sb.AppendLine("Blast = failed canary requests served until the rollback (caught replicates); after onset = only those served from the fault's onset on. Insufficient = no decision by T_max.");
        if (results.Any(r => r.Engine == "oracle"))
            sb.AppendLine(CultureInfo.InvariantCulture, $"oracle: a CUSUM on {(s.Oracle?.IntervalSeconds is { } oi ? $"{oi} s" : "the default engine's")} windows with the fault's true likelihood ratio, its threshold h calibrated per cell by {s.Oracle?.CalibrationReplicates ?? 2000} A/A replicates of the same environment to a false-abort rate of {P(s.Oracle?.FalseAbortRate ?? 0.025)} over T_max (docs/benchmark.md, \"The oracle\"). blast / oracle: mean blast (after onset for late faults) over the oracle's.");
        sb.AppendLine("Times to verdict (median / p90) are given per verdict: rollback and promotion. Catch if running at onset: rollbacks among the replicates not yet decided when the fault began.");
        sb.AppendLine();
        foreach (var group in results.GroupBy(r => (r.Cell.Routing, r.Cell.Rps, r.Cell.Weight, Fault: r.Cell.FaultLabel)))
        {
            var first = group.First();
            var emptyClosed = Math.Exp(-first.Cell.Rps * first.Cell.Weight * 60);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"## {group.Key.Routing}, {group.Key.Rps} rps, {(first.Cell.Schedule is { IsEngineDriven: true } sch ? "w = " + string.Join(" -> ", sch.Steps.Select(x => P(x.Weight) + (x.IsAnalysis ? "" : $" ({x.PauseSeconds:0} s)"))) : "w = " + P(group.Key.Weight))}, {group.Key.Fault}");
            var closed = group.Key.Routing == "binomial" ? $", e^(-R·w·60) = {P(emptyClosed)}" : "";
            sb.AppendLine($"Empty 1-minute windows: {P(first.EmptyMinuteShare)} simulated{closed}; achieved canary share {P(first.AchievedShare)}.");
            sb.AppendLine();
            sb.AppendLine(first.Cell.Fault.IsBad
                ? "| engine | catch | escape | insufficient | catch if running at onset | blast mean | blast p95 | blast after onset mean / p95 | blast / oracle | rollback time median / p90 | promotion time median / p90 |\n|---|---|---|---|---|---|---|---|---|---|---|"
                : "| engine | false abort | promoted | insufficient | rollback time median / p90 | promotion time median / p90 |\n|---|---|---|---|---|---|");
            foreach (var r in group)
            {
                static string T(double? median, double? p90) => median is { } m ? $"{m:0} s / {p90:0} s" : "-";
                var rollback = T(r.RollbackTimeMedian, r.RollbackTimeP90);
                var promotion = T(r.PromotionTimeMedian, r.PromotionTimeP90);
                static string D(double x) => double.IsNaN(x) ? "-" : x.ToString("0.0", CultureInfo.InvariantCulture);
                var afterOnset = double.IsNaN(r.BlastAfterOnsetMean) ? "-" : $"{D(r.BlastAfterOnsetMean)} / {r.BlastAfterOnsetP95:0}";
                sb.AppendLine(r.Cell.Fault.IsBad
                    ? $"| {Label(s, r)} | {Rate(r.Rollbacks, r.Replicates)} | {Rate(r.Promotions, r.Replicates)} | {Rate(r.Insufficient, r.Replicates)} | {(r.Exposed == 0 ? "-" : Rate(r.ExposedRollbacks, r.Exposed))} | {D(r.BlastMean)} | {r.BlastP95?.ToString("0", CultureInfo.InvariantCulture) ?? "-"} | {afterOnset} | {Ratio(r, results)} | {rollback} | {promotion} |"
                    : $"| {Label(s, r)} | {Rate(r.Rollbacks, r.Replicates)} | {Rate(r.Promotions, r.Replicates)} | {Rate(r.Insufficient, r.Replicates)} | {rollback} | {promotion} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Two panels: false-abort rate on A/A cells and mean blast radius on bad cells, one colour per engine.</summary>
    public static string Svg(List<CellResult> results, IReadOnlyList<string> engines)
    {
        string[] colours = ["#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#1f77b4", "#17becf", "#8c564b"];
        var good = results.Where(r => !r.Cell.Fault.IsBad).GroupBy(r => (r.Cell.Routing, r.Cell.Rps, r.Cell.Weight, r.Cell.FaultLabel)).ToList();
        var bad = results.Where(r => r.Cell.Fault.IsBad).GroupBy(r => (r.Cell.Routing, r.Cell.Rps, r.Cell.Weight, r.Cell.FaultLabel)).ToList();
        var width = 80 + Math.Max(good.Count, bad.Count) * 14 * engines.Count / 2 + 200;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"620\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        void Panel(string title, int top, IEnumerable<(string Label, IEnumerable<CellResult> Rows)> groups, Func<CellResult, double> value, double max, string unit)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"10\" y=\"{top - 8}\" font-size=\"13\" font-weight=\"bold\">{title}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"60\" y1=\"{top + 200}\" x2=\"{width - 150}\" y2=\"{top + 200}\" stroke=\"black\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"5\" y=\"{top + 10}\">{max:0.##}{unit}</text><text x=\"5\" y=\"{top + 200}\">0</text>");
            var x = 65.0;
            foreach (var (label, rows) in groups)
            {
                foreach (var (r, i) in rows.Select((r, i) => (r, i)))
                {
                    var v = value(r);
                    if (double.IsNaN(v)) { x += 7; continue; }
                    var h = Math.Min(200, 200 * v / max);
                    sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.#}\" y=\"{top + 200 - h:0.#}\" width=\"6\" height=\"{h:0.#}\" fill=\"{colours[engines.ToList().IndexOf(r.Engine) % colours.Length]}\"><title>{r.Engine} {label}: {v:0.###}{unit}</title></rect>");
                    x += 7;
                }
                x += 6;
            }
        }
        Panel("False-abort rate on good canaries (A/A), per cell", 40, good.Select(g => ($"{g.Key.Routing} {g.Key.Rps}rps {g.Key.Weight:P0}{(g.Key.FaultLabel == "A/A" ? "" : " " + g.Key.FaultLabel)}", g.AsEnumerable())),
            r => (double)r.Rollbacks / r.Replicates, 1, "");
        var maxBlast = Math.Max(1, bad.SelectMany(g => g).Select(r => r.BlastMean).Where(d => !double.IsNaN(d)).DefaultIfEmpty(1).Max());
        Panel("Mean blast radius (failed canary requests until rollback) on bad canaries, per cell", 320,
            bad.Select(g => ($"{g.Key.Routing} {g.Key.Rps}rps {g.Key.Weight:P0} {g.Key.FaultLabel}", g.AsEnumerable())), r => r.BlastMean, maxBlast, "");
        for (var i = 0; i < engines.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{width - 140}\" y=\"{40 + i * 18}\" width=\"12\" height=\"12\" fill=\"{colours[i % colours.Length]}\"/><text x=\"{width - 122}\" y=\"{50 + i * 18}\">{engines[i]}</text>");
        sb.Append("</svg>");
        return sb.ToString();
    }
}
