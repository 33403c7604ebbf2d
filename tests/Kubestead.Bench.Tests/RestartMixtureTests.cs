using Kubestead.Analysis;
using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

/// <summary>The simulator's engine runs the engine's own restarting background test (RestartMixtureEProcess).</summary>
public class RestartMixtureTests
{
    private static readonly ScenarioFile S = new() { TickSeconds = 10, TMaxSeconds = 3600 };

    private static readonly WeightSchedule Pauses = new()
    {
        Name = "p",
        Steps = [new ScheduleStep { Weight = 0.25 }, new ScheduleStep { Weight = 0.25, PauseSeconds = 3000 }],
    };

    private static KubesteadRolloutPolicy Engine(EngineVariant v) => new(v, S, new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, Pauses));

    // Failures only on stable for 25 minutes (the single test's wealth drains), then ten times worse than stable.
    private static Tick Late(double t, double w) => t < 1500 ? SyntheticTicks.Make(t, w, 0, 4) : SyntheticTicks.Bad(t, w);

    [Fact]
    public void The_engines_background_test_catches_a_late_fault_sooner_than_the_single_e_process_drained_by_a_long_good_stretch()
    {
        var single = Engine(new EngineVariant { Name = "single", IntervalSeconds = 10, BackgroundRestart = false });
        var engine = Engine(new EngineVariant { Name = "engine", IntervalSeconds = 10 });
        var (d1, t1) = SyntheticTicks.Drive(single, 360, 10, Late);
        var (d2, t2) = SyntheticTicks.Drive(engine, 360, 10, Late);
        Assert.Equal(Decision.Rollback, d2);
        // The single test's wealth is so drained that it may not come back before the pause ends.
        Assert.True(d1 != Decision.Rollback || t1 > t2, $"restarted: {t2} s, single: {d1} at {t1} s");
        Assert.InRange(t2, 1510, 1600);
    }

    [Fact]
    public void Variants_restart_on_the_engines_schedule_unless_they_override_it()
    {
        Assert.Equal(RestartMixtureOptions.Default, new EngineVariant().BackgroundRestarts());
        Assert.Null(new EngineVariant { BackgroundRestart = false }.BackgroundRestarts());
        var custom = new EngineVariant { RestartSeconds = 60, RestartFirstWeight = 0.25 }.BackgroundRestarts()!;
        Assert.Equal((TimeSpan.FromSeconds(60), 0.25, RestartMixtureOptions.Default.PlannedLength), (custom.Spacing, custom.FirstWeight, custom.PlannedLength));
        // As the engine does, the prior is spread over the plan's timed steps when the variant does not say otherwise.
        Assert.Equal(RestartMixtureOptions.ForPlannedLength(TimeSpan.FromMinutes(50)), new EngineVariant().BackgroundRestarts(3000));
        Assert.Equal(TimeSpan.FromMinutes(5), new EngineVariant { RestartPlannedSeconds = 300 }.BackgroundRestarts(3000)!.PlannedLength);
    }

    [Fact]
    public void A_longer_restart_spacing_starts_later_components_and_catches_the_late_fault_no_sooner()
    {
        var often = Engine(new EngineVariant { Name = "60", IntervalSeconds = 10, RestartSeconds = 60 });
        var rarely = Engine(new EngineVariant { Name = "1200", IntervalSeconds = 10, RestartSeconds = 1200 });
        var (d1, t1) = SyntheticTicks.Drive(often, 360, 10, Late);
        var (d2, t2) = SyntheticTicks.Drive(rarely, 360, 10, Late);
        Assert.Equal(Decision.Rollback, d1);
        // Every 20 minutes: the fault at 25 minutes is judged by a component started 5 minutes before it.
        Assert.True(d2 != Decision.Rollback || t2 >= t1, $"every minute: {t1} s, every 20 minutes: {d2} at {t2} s");
    }
}

/// <summary>Issue #29 item 1: the built-in engine <c>default</c> runs what a spec without analysis settings gets.</summary>
public class SpecDefaultEngineTests
{
    [Fact]
    public void The_default_engine_judges_one_minute_windows_with_the_background_test_as_a_spec_without_settings_does()
    {
        var s = new ScenarioFile { TickSeconds = 10, TMaxSeconds = 3600 };
        var cell = new Cell("t", "binomial", 20, 0.25, new FaultSpec(), null, null);
        var engine = Assert.IsType<KubesteadRolloutPolicy>(EngineRegistry.Create(SpecDefaultVariant.Name, s, cell));
        Assert.Equal("default", engine.Name);
        // Ten minutes of ticks that decide nothing: windows of the spec's default interval (1m), not of one tick.
        SyntheticTicks.Drive(engine, 60, 10, (t, w) => SyntheticTicks.Make(t, w, 0, 0));
        Assert.Equal(10, engine.CountedWindows);
        var variant = SpecDefaultVariant.Create();
        Assert.True(variant.Background);
        Assert.Equal((0.05, 5.0, 1.0), (variant.Alpha, variant.DetectRatio, variant.AllowedIncrease));
    }
}
