using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Kubestead.Bench.CanarySim;

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

    /// <summary>
    /// A load test (spec <c>analysis.loadTest</c>, issue #32): synthetic requests per second sent to the canary through the
    /// header route, answered at the canary's failure rate and counted apart (0: none). Engine variants with
    /// <see cref="EngineVariant.LoadTest"/> judge them as their own evidence; every other engine never sees them.
    /// </summary>
    public double LoadTestRps { get; set; }

    /// <summary>The load test's control stream: as many requests again without the route header, split by the weight.</summary>
    public bool LoadTestControl { get; set; }

    /// <summary>Length of a Kubestead analysis window in seconds (default: one tick).</summary>
    public int? JudgeWindowSeconds { get; set; }

    public List<EnvironmentSpec> Environments { get; set; } = new() { new EnvironmentSpec() };

    /// <summary>Weight schedules (a grid axis); the default is the static weight of the main grid.</summary>
    public List<WeightSchedule> Schedules { get; set; } = new() { new WeightSchedule() };

    /// <summary>Traffic shapes (a grid axis): constant, on/off bursts, diurnal; all with mean rate R.</summary>
    public List<TrafficShape> Shapes { get; set; } = new() { new TrafficShape() };

    /// <summary>Kubestead engines as specs configure them (issue #12), usable by name in <see cref="Engines"/>.</summary>
    public List<EngineVariant> EngineVariants { get; set; } = new();

    /// <summary>Settings of the <c>oracle</c> engine (issue #29 item 2); null: its defaults.</summary>
    public OracleSpec? Oracle { get; set; }

    public static ScenarioFile Load(string path) => new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build()
        .Deserialize<ScenarioFile>(File.ReadAllText(path));

    public IEnumerable<Cell> Cells() =>
        from routing in Routing
        from rps in Rps
        from env in Environments
        from schedule in Schedules
        // An engine-driven schedule sets the weight itself: one cell, not one per weight.
        from w in schedule.IsEngineDriven ? Weights.Take(1) : Weights
        from shape in Shapes
        from f in Faults
        select new Cell(Name, routing, rps, w, f, env, schedule, shape);
}

/// <summary>One cell of a scenario's grid.</summary>
public sealed record Cell(string Scenario, string Routing, double Rps, double Weight, FaultSpec Fault, EnvironmentSpec? Environment = null,
    WeightSchedule? Schedule = null, TrafficShape? Shape = null)
{
    /// <summary>The fault's name, prefixed by the environment's, schedule's and traffic shape's when they are not the defaults.</summary>
    public string FaultLabel => string.Join(" ", new[]
    {
        Environment is null || Environment.Name == "iid" ? null : Environment.Name,
        Schedule is null || !Schedule.IsEngineDriven ? null : Schedule.Name,
        Shape is null || Shape.IsConstant ? null : Shape.Name,
        Fault.Name,
    }.Where(x => x is not null));
}
