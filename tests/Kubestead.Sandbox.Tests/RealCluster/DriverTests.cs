using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Two processes and the Lease on the real server: one driver at a time, and a killed driver's rollout resumed.</summary>
public class DriverTests
{
    private const string LongPause = """
          steps:
            - setWeight: 20
            - pause: { duration: 24h }
            - setWeight: 60
        """;

    [RealClusterFact]
    public async Task A_second_driver_neither_starts_nor_drives_while_the_first_holds_the_lease()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("drivers");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        await using var pumped = new PumpedClock();
        var first = await env.ServiceAsync(pumped.Clock, driver: "ci-1", leaseDuration: TimeSpan.FromHours(1));
        using var kill = new CancellationTokenSource();
        var spec = new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, LongPause) };
        var driving = Task.Run(() => first.StartAsync(spec, wait: true, kill.Token));
        await RealRolloutEnvironment.WaitForAsync(first, env.Namespace, "reviews", r => r.CanaryWeight == 20 && r.StepIndex == 1);
        var vsBefore = await env.GetAsync(MeshFixtures.VirtualService, "reviews");

        var second = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(pumped.Clock.GetUtcNow()), driver: "ci-2");
        // A CI re-run of the same spec attaches (issue #19) rather than starting anew; while ci-1 holds the Lease it watches.
        var attached = await second.StartAsync(spec, wait: false);
        var watched = await second.WaitAsync(env.Namespace, "reviews", TimeSpan.FromMinutes(2));

        Assert.Equal(RolloutPhase.Progressing, attached.Phase);
        Assert.Equal(1, attached.StepIndex);
        Assert.Equal(RolloutPhase.Progressing, watched.Phase);
        Assert.Equal(1, watched.StepIndex);
        var lease = await env.GetAsync(ResourceType.Lease, "kubestead-reviews");
        Assert.Contains("ci-1", lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(vsBefore["metadata"]!["resourceVersion"]!.GetValue<string>(),
            (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["metadata"]!["resourceVersion"]!.GetValue<string>());
        await kill.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driving);
    }

    [RealClusterFact]
    public async Task A_driver_killed_mid_rollout_is_resumed_by_another_to_completion()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("resume");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        await using var pumped = new PumpedClock();
        var first = await env.ServiceAsync(pumped.Clock, driver: "ci-1", leaseDuration: TimeSpan.FromHours(1));
        using var kill = new CancellationTokenSource();
        var driving = Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, LongPause) }, wait: true, kill.Token));
        await RealRolloutEnvironment.WaitForAsync(first, env.Namespace, "reviews", r => r.CanaryWeight == 20 && r.StepIndex == 1);

        await kill.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driving);
        var left = await first.GetAsync(env.Namespace, "reviews");
        Assert.Equal(RolloutPhase.Progressing, left.Phase);

        // Another CI job, a day later by its clock (past the pause, and past any lease the killed one kept).
        var second = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(pumped.Clock.GetUtcNow() + TimeSpan.FromDays(1)), driver: "ci-2");
        var done = await second.WaitAsync(env.Namespace, "reviews", timeout: null);

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Contains(done.History, h => h.Driver.Contains("ci-1", StringComparison.Ordinal) && h.CanaryWeight == 20);
        Assert.Contains(done.History, h => h.Driver.Contains("ci-2", StringComparison.Ordinal) && h.CanaryWeight == 60);
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "reviews"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}
