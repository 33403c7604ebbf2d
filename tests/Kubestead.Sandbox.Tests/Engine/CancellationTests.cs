using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>A drive cancelled by its caller (Ctrl+C, SIGTERM, StopProcessing) gives its Lease up and says where it stopped.</summary>
public class CancellationTests
{
    /// <summary>Cancels the drive the first time the engine waits in an activity containing <paramref name="activity"/>.</summary>
    private sealed class CancelOnWait(CancellationTokenSource cts, string activity) : IRolloutObserver
    {
        public List<RolloutEvent> Seen { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Seen) Seen.Add(e);
            if (e is WaitingEvent w && w.Activity.Contains(activity, StringComparison.Ordinal)) cts.Cancel();
        }
    }

    [Theory]
    [InlineData("pause")]
    [InlineData("analysis")]
    public async Task A_cancelled_drive_releases_the_lease_so_another_driver_resumes_at_once(string during)
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        using var cts = new CancellationTokenSource();
        var observer = new CancelOnWait(cts, during);
        await using var alice = env.CreateService(observer, "alice");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Task.Run(() => alice.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true, cts.Token)));

        var lease = env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, RolloutLease.ObjectName("shop"))!;
        Assert.Equal("", lease["spec"]!["holderIdentity"]!.GetValue<string>());
        await using var bob = env.CreateService(NullRolloutObserver.Instance, "bob");
        var stopped = await bob.GetAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(RolloutPhase.Progressing, stopped.Phase);
        Assert.Contains("was cancelled at step", stopped.Message);
        Assert.Contains(stopped.History, h => h.Kind == "cancelled" && h.Driver.StartsWith("alice@", StringComparison.Ordinal));
        Assert.Contains(observer.Seen, e => e is WarningEvent w && w.Text.Contains("was cancelled at step", StringComparison.Ordinal));

        // No time passes: without the release bob would be refused until alice's lease expired.
        var result = await Task.Run(() => bob.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
    }

    [Fact]
    public async Task A_drive_that_ends_normally_records_no_cancellation()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance, "alice");
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.DoesNotContain(result.History, h => h.Kind == "cancelled");
    }
}
