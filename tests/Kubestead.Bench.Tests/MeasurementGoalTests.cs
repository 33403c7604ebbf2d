using Kubestead.Bench.CanarySim;

namespace Kubestead.Bench.Tests;

public class MeasurementGoalTests
{
    [Fact]
    public void The_default_judge_meets_the_measurement_goals_with_failed_scrapes_and_replaced_pods_on_a_small_run()
    {
        // bench/scenarios/measurement.yaml at 200 replicates: A/A false aborts and 5x passes stay near or below 2.5%.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "bench", "scenarios", "measurement.yaml"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var s = ScenarioFile.Load(Path.Combine(dir.FullName, "bench", "scenarios", "measurement.yaml"));
        s.Environments = s.Environments.Where(e => e.Name is "scrape30-fail10%" or "replaced-pods").ToList();
        foreach (var r in Runner.Run(s, ["ks-default"], replicates: 200))
        {
            var wrong = r.Cell.Fault.IsBad ? r.Promotions : r.Rollbacks;
            Assert.True(wrong <= 10, $"{r.Cell.FaultLabel}: {wrong} of 200 wrong verdicts");
        }
    }
}
