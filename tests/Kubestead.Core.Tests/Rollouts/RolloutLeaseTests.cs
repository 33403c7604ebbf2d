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
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 12, 1, 0, TimeSpan.Zero), e.ExpiresAt);
        Assert.Equal(KubesteadErrorKind.Conflict, e.Kind);
    }

    [Fact]
    public async Task After_expiry_another_driver_takes_over_and_the_old_holder_learns_it_lost()
    {
        var api = new EmulatedCluster();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var alice = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("alice"), TimeSpan.FromSeconds(60));

        clock.Advance(TimeSpan.FromSeconds(61));
        var bob = await RolloutLease.AcquireAsync(api, clock, "web", "shop", Driver("bob"), TimeSpan.FromSeconds(60));
        var lease = api.Peek(ResourceType.Lease, "web", "kubestead-shop")!;
        Assert.Equal(bob.Holder, lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(1, lease["spec"]!["leaseTransitions"]!.GetValue<int>());

        var lost = await Assert.ThrowsAsync<RolloutLeaseLostException>(() => alice.RenewAsync());
        Assert.Contains("bob@host1", lost.Message);
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
