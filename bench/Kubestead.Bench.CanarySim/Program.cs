using System.Diagnostics;
using System.Globalization;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// CANARY-SIM v1: dotnet run -c Release --project bench/Kubestead.Bench.CanarySim -- --scenario bench/scenarios/main-grid.yaml
/// --out bench/results/main-grid [--replicates N] [--seed S] [--engines a,b]
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var scenarioPath = Arg("--scenario");
        var outDir = Arg("--out");
        if (scenarioPath is null || outDir is null)
        {
            Console.Error.WriteLine("usage: --scenario <file.yaml> --out <folder> [--replicates N] [--seed S] [--engines a,b]");
            return 2;
        }
        var scenario = ScenarioFile.Load(scenarioPath);
        var engines = Arg("--engines")?.Split(',') ?? scenario.Engines.ToArray();
        var replicates = Arg("--replicates") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : scenario.Replicates;
        var seed = Arg("--seed") is { } s ? ulong.Parse(s, CultureInfo.InvariantCulture) : scenario.Seed;
        var watch = Stopwatch.StartNew();
        var results = Runner.Run(scenario, engines, replicates, seed);
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "results.csv"), Runner.Csv(results));
        File.WriteAllText(Path.Combine(outDir, "results.md"), Report.Markdown(scenario, results, engines, replicates, seed, watch.Elapsed));
        File.WriteAllText(Path.Combine(outDir, "plot.svg"), Report.Svg(results, engines));
        Console.WriteLine($"{results.Count} rows ({scenario.Cells().Count()} cells x {engines.Length} engines, {replicates} replicates) in {watch.Elapsed.TotalSeconds:0.#} s -> {outDir}");
        return 0;
    }
}
