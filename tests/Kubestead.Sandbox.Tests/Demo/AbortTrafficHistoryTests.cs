using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Demo;

/// <summary>
/// The report draws the canary's weight from the history: an abort must record when its write sent traffic to stable,
/// or the chart keeps the canary at its last weight until clean-up ends (scaleDownDelay later).
/// </summary>
public class AbortTrafficHistoryTests
{
    [Theory]
    [InlineData("istio")]
    [InlineData("nginx")]
    [InlineData("none")]
    public async Task The_faulty_demo_records_traffic_to_stable_at_the_abort_before_clean_up_ends(string mesh)
    {
        var result = await SandboxDemo.RunAsync(mesh, "faulty", SandboxDemoTests.SpecFor(mesh), NullRolloutObserver.Instance);
        var history = result.Rollout.History;

        var abort = history.Single(h => h.Kind == "abort");
        var written = history.Single(h => h.Kind == RolloutHistoryEntry.TrafficToStableKind);
        var cleanup = history.Single(h => h.Kind == "cleanup");
        Assert.Equal(0, written.CanaryWeight);
        Assert.Equal(abort.At, written.At);
        Assert.True(written.At < cleanup.At, $"traffic to stable at {written.At:HH:mm:ss}, clean-up ended {cleanup.At:HH:mm:ss}");
        // Between the abort and the write no entry claims another weight.
        var i = history.ToList().IndexOf(written);
        Assert.True(history.ToList().IndexOf(abort) < i && i < history.ToList().IndexOf(cleanup));
        Assert.Contains("traffic to stable on ", written.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_abort_whose_traffic_write_fails_records_no_traffic_to_stable_until_a_retry_succeeds()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var driver = env.CreateService(NullRolloutObserver.Instance, "driver");
        await using var oncall = env.CreateService(NullRolloutObserver.Instance, "oncall");
        await Task.Run(() => driver.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        await oncall.SetWeightAsync(ShopFixture.Namespace, "shop", 20);
        // The next PATCH of the VirtualService is the abort's traffic write.
        env.Cluster.InjectFault("PATCH", "virtualservices", ShopFixture.Name, status: 500);

        await Assert.ThrowsAnyAsync<KubesteadException>(() => oncall.AbortAsync(ShopFixture.Namespace, "shop"));
        var interrupted = await oncall.GetAsync(ShopFixture.Namespace, "shop");
        Assert.Contains(interrupted.History, h => h.Kind == "abort");
        Assert.DoesNotContain(interrupted.History, h => h.Kind == RolloutHistoryEntry.TrafficToStableKind);
        Assert.Equal(20, interrupted.History.Last(h => h.CanaryWeight is not null).CanaryWeight);
        var vs = env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, ShopFixture.Name)!;
        Assert.Equal(20, vs["spec"]!["http"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "primary")!["route"]![1]!["weight"]!.GetValue<int>());

        var aborted = await oncall.AbortAsync(ShopFixture.Namespace, "shop");
        var written = Assert.Single(aborted.History, h => h.Kind == RolloutHistoryEntry.TrafficToStableKind);
        Assert.Equal(0, written.CanaryWeight);
        Assert.True(written.At >= interrupted.History.Single(h => h.Kind == "abort").At);
    }
}
