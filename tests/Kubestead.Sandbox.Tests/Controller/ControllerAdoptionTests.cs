using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// Issue #30 adoption: a rollout a CI job drives (not handed to controllers) whose driver dies is taken over by a
/// controller once the CI driver's Lease expires, only when its spec says <c>controller: {adopt: true}</c>.
/// </summary>
public class ControllerAdoptionTests
{
    private static readonly TimeSpan Plenty = TimeSpan.FromMinutes(20);
    private static readonly RolloutKey Key = new("team-0", "app-0");
    private static readonly DriverIdentity Ci = new("ci", "runner", null, "ci");

    /// <summary>A CI job's `kubestead start` (waiting) on its own line to the cluster, which the test can kill.</summary>
    private sealed class CiJob(FreezableApi api, CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        public FreezableApi Api => api;

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            api.Thaw();
            // Its Lease was taken (or it was cancelled): how the dead job's start ends is not what these tests judge.
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10)));
            stop.Dispose();
        }
    }

    private static async Task<CiJob> StartCiJobAsync(ControllerFleet fleet, bool adopt)
    {
        fleet.SeedApp(Key.Namespace, Key.Name);
        fleet.Rollouts.Add(Key);
        // A long timed pause: the CI driver holds the Lease all through it, so "live" lasts as long as the test needs.
        var spec = ControllerTestApp.RolloutSpec(Key.Namespace, Key.Name, readyTimeout: "2m", pause: "10m");
        if (adopt) spec = spec.Replace("spec:\n", "spec:\n  controller: { adopt: true }\n", StringComparison.Ordinal);
        var api = new FreezableApi(fleet.Cluster) { Clock = fleet.Clock };
        var ci = new KubesteadService(api, new KubesteadServiceOptions { Clock = fleet.Clock, Driver = Ci, LeaseDuration = ControllerFleet.LeaseDuration });
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => ci.StartAsync(new StartRequest { SpecYaml = spec }, wait: true, stop.Token));
        var job = new CiJob(api, stop, run);
        await AdvanceWhileCiKeepsUpAsync(fleet, () => fleet.LeaseHolder(Key) == Ci.ToString() && Recorded(fleet) && fleet.State(Key).Status.StepIndex >= 1,
            Plenty, "the CI job drives the rollout into its pause");
        return job;
    }

    private static bool Recorded(ControllerFleet fleet) =>
        fleet.Cluster.Peek(ResourceType.ConfigMap, Key.Namespace, RolloutStateStore.ObjectName(Key.Name)) is not null;

    /// <summary>
    /// Moves the clock a second at a time until <paramref name="done"/> holds, but never past three quarters of the CI
    /// driver's Lease without its renewal: a slow machine must not make a live CI job look dead (that is what these
    /// tests judge). The driver renews between pieces of its waits, a third of the Lease apart, so a gap between
    /// renewals may reach two thirds.
    /// </summary>
    private static async Task AdvanceWhileCiKeepsUpAsync(ControllerFleet fleet, Func<bool> done, TimeSpan limit, string what)
    {
        for (var waited = TimeSpan.Zero; waited < limit; waited += TimeSpan.FromSeconds(1))
        {
            await Task.Delay(3);
            if (done()) return;
            var realDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (CiLeaseRenewedAt(fleet) is { } renewed && fleet.Clock.GetUtcNow() - renewed >= ControllerFleet.LeaseDuration * 3 / 4)
            {
                Assert.True(DateTime.UtcNow < realDeadline, $"the live CI job did not renew its Lease (last {renewed:HH:mm:ss}, now {fleet.Clock.GetUtcNow():HH:mm:ss})");
                await Task.Delay(10);
            }
            fleet.Clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Fail($"not reached within {limit} of virtual time: {what}");
    }

    /// <summary>When the CI job last renewed the rollout's Lease; null when it does not hold it.</summary>
    private static DateTimeOffset? CiLeaseRenewedAt(ControllerFleet fleet)
    {
        var spec = fleet.Cluster.Peek(ResourceType.Lease, Key.Namespace, RolloutLease.ObjectName(Key.Name))?["spec"];
        if (spec?["holderIdentity"]?.GetValue<string>() != Ci.ToString()) return null;
        var renewed = spec["renewTime"]?.GetValue<string>() ?? spec["acquireTime"]?.GetValue<string>();
        return renewed is null ? null : DateTimeOffset.Parse(renewed, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool DrivenByController(RolloutHistoryEntry h) => h.Driver.StartsWith("controller@", StringComparison.Ordinal);

    [Fact]
    public async Task An_adoptable_rollout_is_left_to_its_live_CI_driver_and_taken_over_once_that_drivers_Lease_expires()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await using var ci = await StartCiJobAsync(fleet, adopt: true);
        Assert.Equal(ControllerHandoff.AdoptableValue,
            fleet.Cluster.Peek(ResourceType.ConfigMap, Key.Namespace, RolloutStateStore.ObjectName(Key.Name))!["metadata"]!["labels"]![ControllerHandoff.DriverLabel]!.GetValue<string>());

        // The CI job is alive: for twice the Lease duration the controller sees the rollout but leaves it to its driver.
        var liveUntil = fleet.Clock.GetUtcNow() + ControllerFleet.LeaseDuration * 2;
        await AdvanceWhileCiKeepsUpAsync(fleet, () => fleet.Clock.GetUtcNow() >= liveUntil, Plenty, "twice the Lease duration passed");
        Assert.Equal(Ci.ToString(), fleet.LeaseHolder(Key));
        Assert.DoesNotContain(fleet.State(Key).Status.History, DrivenByController);

        ci.Api.Freeze(); // kill -9 of the CI job
        var died = fleet.Clock.GetUtcNow();
        await Task.Delay(50); // a renewal already past the gate still lands (the clock stands still meanwhile)
        var lastRenewal = CiLeaseRenewedAt(fleet)!.Value;
        await fleet.AdvanceUntilAsync(() => fleet.LeaseHolder(Key) == a.Holder, Plenty, "the controller adopted the rollout");
        // Not before the Lease expired; at most the Lease duration after the death, plus the second the controller
        // waits past expiry, plus one step of this test's clock.
        Assert.True(fleet.Clock.GetUtcNow() - lastRenewal >= ControllerFleet.LeaseDuration, $"adopted at {fleet.Clock.GetUtcNow():HH:mm:ss}, before the Lease renewed at {lastRenewal:HH:mm:ss} expired");
        Assert.InRange(fleet.Clock.GetUtcNow() - died, TimeSpan.Zero, ControllerFleet.LeaseDuration + TimeSpan.FromSeconds(3));

        await fleet.AdvanceUntilAsync(fleet.AllDone, Plenty, "the adopted rollout completed");
        // The history shows the hand-over: started and stepped by the CI job, finished by the controller.
        var history = fleet.State(Key).Status.History;
        Assert.Equal(Ci.ToString(), Assert.Single(history, h => h.Kind == "start").Driver);
        Assert.Equal(Ci.ToString(), Assert.Single(history, h => h.Kind == "setWeight").Driver);
        Assert.StartsWith(a.Holder, Assert.Single(history, h => h.Kind == "complete").Driver, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CI_rollout_without_the_opt_in_is_never_adopted_even_after_its_drivers_Lease_expires()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        await using var ci = await StartCiJobAsync(fleet, adopt: false);
        Assert.Null(fleet.Cluster.Peek(ResourceType.ConfigMap, Key.Namespace, RolloutStateStore.ObjectName(Key.Name))!["metadata"]!["labels"]![ControllerHandoff.DriverLabel]);

        ci.Api.Freeze(); // kill -9 of the CI job
        var deadUntil = fleet.Clock.GetUtcNow() + ControllerFleet.LeaseDuration * 3;
        await fleet.AdvanceUntilAsync(() => fleet.Clock.GetUtcNow() >= deadUntil, Plenty, "three Lease durations passed");

        Assert.Equal(RolloutPhase.Progressing, fleet.State(Key).Status.Phase);
        Assert.DoesNotContain(fleet.State(Key).Status.History, DrivenByController);
        Assert.NotEqual(a.Holder, fleet.LeaseHolder(Key));
        Assert.DoesNotContain(a.Events, e => e.Rollout == Key);
    }
}
