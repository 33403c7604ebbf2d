using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Microsoft.Extensions.Time.Testing;

namespace Kubestead.Core.Tests.Rollouts;

public class RolloutLeaseTests
{
    private static DriverIdentity Driver(string user) => new(user, "host1", null, user[..1] + "0000001");

    [Fact]
    public async Task A_second_driver_is_refused_while_the_lease_is_held_and_named_with_its_expiry()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));

        clock.Advance(TimeSpan.FromSeconds(30));
        var e = await Assert.ThrowsAsync<RolloutLockedException>(() =>
            RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60)));
        Assert.Contains("alice@host1", e.Message);
        // Bob first saw the Lease at 12:00:30: it is his only if it stays unchanged for a lease duration from then.
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 12, 1, 30, TimeSpan.Zero), e.ExpiresAt);
        Assert.Equal(KubesteadErrorKind.Conflict, e.Kind);
    }

    [Fact]
    public async Task After_expiry_another_driver_takes_over_and_the_old_holder_learns_it_lost()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var alice = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));
        var seenByBob = new LeaseObservations();
        await Assert.ThrowsAsync<RolloutLockedException>(() =>
            RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seenByBob));

        clock.Advance(TimeSpan.FromSeconds(61));
        var bob = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seenByBob);
        var lease = api.Peek(ResourceType.Lease, "web", "kubestead-shop")!;
        Assert.Equal(bob.Holder, lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(1, lease["spec"]!["leaseTransitions"]!.GetValue<int>());

        var lost = await Assert.ThrowsAsync<RolloutLeaseLostException>(() => alice.RenewAsync());
        Assert.Contains("bob@host1", lost.Message);
    }

    /// <summary>
    /// Issue #26 item 5: a second driver whose clock runs 3 minutes ahead sees the holder's renewTime as long past. It
    /// must not take the Lease while the holder renews it, and takes it only after seeing it unchanged for a duration.
    /// </summary>
    [Fact]
    public async Task A_driver_with_a_clock_minutes_ahead_does_not_take_a_live_lease()
    {
        var api = new EmulatedCluster();
        var aliceClock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var bobClock = new FakeTimeProvider(aliceClock.GetUtcNow() + TimeSpan.FromMinutes(3));
        var seenByBob = new LeaseObservations();
        var alice = await RolloutLease.AcquireAsync(api, aliceClock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));

        for (var i = 0; i < 6; i++)
        {
            var e = await Assert.ThrowsAsync<RolloutLockedException>(() =>
                RolloutLease.AcquireAsync(api, bobClock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seenByBob));
            Assert.Contains("alice@host1", e.Message);
            Assert.True(e.HolderStoppedRenewing, "by bob's clock alice's renewTime is 3 minutes old");
            aliceClock.Advance(TimeSpan.FromSeconds(25));
            bobClock.Advance(TimeSpan.FromSeconds(25));
            await alice.RenewIfDueAsync();
        }
        Assert.True(alice.IsHeld);
        Assert.Equal(alice.Holder, api.Peek(ResourceType.Lease, "web", "kubestead-shop")!["spec"]!["holderIdentity"]!.GetValue<string>());

        // Alice dies: bob takes the Lease once it has stood still for a whole duration on his own clock, not before.
        for (var i = 0; i < 2; i++)
        {
            bobClock.Advance(TimeSpan.FromSeconds(30));
            await Assert.ThrowsAsync<RolloutLockedException>(() =>
                RolloutLease.AcquireAsync(api, bobClock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seenByBob));
        }
        bobClock.Advance(TimeSpan.FromSeconds(31));
        var bob = await RolloutLease.AcquireAsync(api, bobClock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seenByBob);
        Assert.StartsWith("bob@", bob.Holder);
    }

    /// <summary>
    /// Issue #26 item 4: every write of a drive checks the Lease first. Unrenewed for its whole duration, the Lease is
    /// renewed before the write (it lands only if nobody took the Lease); once another driver has it, writes fail.
    /// </summary>
    [Fact]
    public async Task A_write_checks_the_lease_first_and_fails_once_another_driver_took_it()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var alice = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));
        var guarded = new LeaseGuardedApi(api, alice);
        static System.Text.Json.Nodes.JsonObject ConfigMap(string name) =>
            new() { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = name } };

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.False(alice.IsHeld);
        await guarded.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("a"));
        Assert.True(alice.IsHeld);
        Assert.Equal(RolloutLease.FormatMicroTime(clock.GetUtcNow()), api.Peek(ResourceType.Lease, "web", "kubestead-shop")!["spec"]!["renewTime"]!.GetValue<string>());

        // Alice stalls; bob sees the Lease unchanged for a duration and takes it: alice's next write fails and changes nothing.
        var seen = new LeaseObservations();
        await Assert.ThrowsAsync<RolloutLockedException>(() => RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seen));
        clock.Advance(TimeSpan.FromSeconds(61));
        await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60), observed: seen);
        await Assert.ThrowsAsync<RolloutLeaseLostException>(() => guarded.DeleteAsync(ResourceType.ConfigMap, "web", "a"));
        Assert.NotNull(api.Peek(ResourceType.ConfigMap, "web", "a"));
        await Assert.ThrowsAsync<RolloutLeaseLostException>(() => guarded.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("b")));
        Assert.Null(api.Peek(ResourceType.ConfigMap, "web", "b"));
        Assert.False(alice.IsHeld);
    }

    [Fact]
    public async Task Renewal_keeps_the_lease_past_its_first_duration()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var alice = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));
        for (var i = 0; i < 6; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(25));
            await alice.RenewIfDueAsync();
        }
        await Assert.ThrowsAsync<RolloutLockedException>(() =>
            RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Released_lease_can_be_taken_at_once_and_the_same_driver_can_reacquire()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var alice = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));
        var again = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));
        Assert.Equal(alice.Holder, again.Holder);
        await again.ReleaseAsync();
        var bob = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60));
        Assert.StartsWith("bob@", bob.Holder);
    }

    [Fact]
    public void Driver_identity_names_the_ci_run()
    {
        var env = new Dictionary<string, string?>
        {
            ["GITHUB_ACTIONS"] = "true", ["GITHUB_REPOSITORY"] = "acme/shop", ["GITHUB_RUN_ID"] = "42", ["USER"] = "runner", ["HOSTNAME"] = "gh-1",
        };
        var id = DriverIdentity.Current(k => env.GetValueOrDefault(k));
        Assert.Contains("runner@gh-1", id.ToString());
        Assert.Contains("GitHub Actions acme/shop run 42", id.ToString());
    }
}
