using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// A controller replica reads its rollouts' Deployments and state ConfigMaps from watches (issue #30: API traffic of
/// watches plus the writes the rollouts need), and a cache that lags behind the server still cannot make a write land on
/// old data.
/// </summary>
public class ControllerReadCacheTests
{
    private const string LongPause = "30m";

    [Fact]
    public async Task A_replica_sends_no_per_rollout_reads_of_Deployments_or_state_while_its_rollouts_wait()
    {
        await using var fleet = new ControllerFleet();
        var a = await fleet.StartReplicaAsync("a");
        for (var i = 0; i < 4; i++)
            await fleet.HandOverAsync($"team-{i % 2}", $"app-{i}", spec: ControllerTestApp.RolloutSpec($"team-{i % 2}", $"app-{i}", readyTimeout: "2m", pause: LongPause));
        await fleet.AdvanceUntilAsync(() => fleet.Rollouts.All(k => fleet.State(k).Status is { Phase: RolloutPhase.Progressing, StepIndex: 1 } && fleet.LeaseHolder(k) == a.Holder),
            TimeSpan.FromMinutes(5), "every rollout waits in its pause, driven by a");

        // Five virtual minutes in which every rollout waits: the engine re-reads its state and checks drift every 30 s.
        a.Api.Requests.Clear();
        var end = fleet.Clock.GetUtcNow() + TimeSpan.FromMinutes(5);
        await fleet.AdvanceUntilAsync(() => fleet.Clock.GetUtcNow() >= end, TimeSpan.FromMinutes(6), "five minutes passed");

        var requests = a.Api.Requests.ToDictionary(p => p.Key, p => p.Value);
        var seen = string.Join(", ", requests.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"));
        Assert.True(fleet.Rollouts.All(k => fleet.State(k).Status.StepIndex == 1), "the rollouts left their pause: " + seen);
        Assert.Equal(0, requests.GetValueOrDefault("get deployments"));
        Assert.Equal(0, requests.GetValueOrDefault("get configmaps"));
        // What remains is the Lease renewals, the replica's own heartbeat and the informer's periodic resync (one list per
        // scope every 5 minutes, whatever the number of rollouts): no request reads one rollout's objects.
        Assert.All(requests.Keys, k => Assert.True(k is "patch leases" or "update leases" or "list configmaps", "unexpected request kind: " + seen));
        Assert.InRange(requests.GetValueOrDefault("list configmaps"), 0, 1);
        Assert.True(a.Cache!.CacheHits > 0, "nothing was read from the cache: " + seen);
    }

    [Fact]
    public async Task A_cache_lagging_behind_a_write_cannot_make_a_status_write_land_on_old_data()
    {
        var cluster = new EmulatedCluster();
        var lagging = new LaggingWatchApi(cluster);
        await using var cache = ControllerReadCache.Over(lagging, TimeProvider.System);
        var direct = new RolloutStateStore(cluster);
        var cached = new RolloutStateStore(cache);
        await direct.CreateAsync("team", "app", ControllerTestApp.RolloutSpec("team", "app", readyTimeout: "2m", pause: "1m"),
            new RolloutStatus { Message = "recorded" }, adoptable: true);
        // The cache lists once; then its watch delivers nothing, so it keeps the first version of the state.
        await cached.LoadAsync("team", "app");
        await WaitForAsync(async () => { await cached.LoadAsync("team", "app"); return cache.CacheHits > 0; }, "the cache to serve the state");

        // Another process writes (an approval, another replica): the cache does not see it.
        var current = await direct.LoadAsync("team", "app");
        await direct.SaveAsync(current, current.Status with { ApprovedStep = 7 });
        Assert.Null((await cached.LoadAsync("team", "app")).Status.ApprovedStep);

        // A write computed from the stale copy is refused by the server; the retry re-reads from the server, not the cache.
        var written = await cached.UpdateAsync("team", "app", s => s with { Message = "stepped" }, TimeProvider.System);

        var onServer = await direct.LoadAsync("team", "app");
        Assert.Equal("stepped", onServer.Status.Message);
        Assert.True(onServer.Status.ApprovedStep == 7, "the other process's write was lost under a write made from the stale cache");
        Assert.Equal(onServer.ResourceVersion, written.ResourceVersion);
        // And the cache now serves what it wrote, not the old copy, though its watch still lags.
        Assert.Equal(onServer.ResourceVersion, (await cached.LoadAsync("team", "app")).ResourceVersion);
        lagging.CatchUp();
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(10);
        }
    }
}
