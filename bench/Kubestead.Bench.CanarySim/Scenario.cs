using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Kubestead.Bench.CanarySim;

/// <summary>A canary fault: multipliers on stable's error rate and latency, an absolute rate, a tail, an onset, a warm-up.</summary>
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

    public bool IsBad => ErrorMultiplier > 1 || AbsoluteErrorRate is not null || LatencyMultiplier > 1 || TailFraction > 0;
}

/// <summary>A scenario file: the grid of cells and every knob of CANARY-SIM v1.</summary>
public sealed class ScenarioFile
{
    public string Name { get; set; } = "scenario";
    public ulong Seed { get; set; } = 1;
    public int Replicates { get; set; } = 4000;
    public int TMaxSeconds { get; set; } = 1800;
    public double P0 { get; set; } = 0.001;
    public double LatencyMedianMs { get; set; } = 50;
    public double LatencySigma { get; set; } = 0.5;
    public int TickSeconds { get; set; } = 10;
    public List<double> Rps { get; set; } = new();
    public List<double> Weights { get; set; } = new();
    public List<string> Routing { get; set; } = new() { "binomial" };
    public List<FaultSpec> Faults { get; set; } = new();
    public List<string> Engines { get; set; } = new();
    public int PodsStable { get; set; } = 9;
    public int PodsCanary { get; set; } = 1;
    public int Connections { get; set; } = 20;
    public double ConnectionLifetimeSeconds { get; set; } = 30;

    /// <summary>Length of a Kubestead analysis window in seconds (default: one tick).</summary>
    public int? JudgeWindowSeconds { get; set; }

    public List<EnvironmentSpec> Environments { get; set; } = new() { new EnvironmentSpec() };

    public static ScenarioFile Load(string path) => new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build()
        .Deserialize<ScenarioFile>(File.ReadAllText(path));

    public IEnumerable<Cell> Cells() =>
        from routing in Routing
        from rps in Rps
        from w in Weights
        from env in Environments
        from f in Faults
        select new Cell(Name, routing, rps, w, f, env);
}

public sealed record Cell(string Scenario, string Routing, double Rps, double Weight, FaultSpec Fault, EnvironmentSpec? Environment = null)
{
    /// <summary>The fault's name, prefixed by the environment's when the cell is not the default iid one.</summary>
    public string FaultLabel => Environment is null || Environment.Name == "iid" ? Fault.Name : $"{Environment.Name} {Fault.Name}";
}
