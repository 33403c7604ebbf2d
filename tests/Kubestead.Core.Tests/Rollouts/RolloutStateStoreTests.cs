using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;

namespace Kubestead.Core.Tests.Rollouts;

public class RolloutStateStoreTests
{
    [Fact]
    public async Task Status_round_trips_through_the_configmap_and_a_stale_save_conflicts()
    {
        var api = new EmulatedCluster();
        var store = new RolloutStateStore(api);
        var created = await store.CreateAsync("web", "shop", "apiVersion: kubestead.io/v1alpha1\n", new RolloutStatus { StepIndex = 2, CanaryWeight = 10 });
        var cm = api.Peek(ResourceType.ConfigMap, "web", "kubestead-shop")!;
        Assert.Equal("rollout-state", cm["metadata"]!["labels"]!["app.kubernetes.io/component"]!.GetValue<string>());

        var saved = await store.SaveAsync(created, created.Status with { Phase = RolloutPhase.Paused, PauseReason = PauseReason.Drift });
        var loaded = await store.LoadAsync("web", "shop");
        Assert.Equal(RolloutPhase.Paused, loaded.Status.Phase);
        Assert.Equal(PauseReason.Drift, loaded.Status.PauseReason);
        Assert.Equal(10, loaded.Status.CanaryWeight);
        Assert.Equal(saved.ResourceVersion, loaded.ResourceVersion);

        var stale = await Assert.ThrowsAsync<KubernetesApiException>(() => store.SaveAsync(created, created.Status));
        Assert.True(stale.IsInvalid || stale.IsConflict);
    }

    [Fact]
    public async Task Missing_rollout_is_a_not_found_error_naming_it()
    {
        var store = new RolloutStateStore(new EmulatedCluster());
        Assert.Null(await store.TryLoadAsync("web", "nope"));
        var e = await Assert.ThrowsAsync<RolloutNotFoundException>(() => store.LoadAsync("web", "nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Equal(KubesteadErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public void History_is_bounded()
    {
        var s = new RolloutStatus();
        for (var i = 0; i < RolloutStatus.MaxHistory + 50; i++)
            s = s.WithHistory(new RolloutHistoryEntry(DateTimeOffset.UnixEpoch, "me", "step", $"entry {i}"));
        Assert.Equal(RolloutStatus.MaxHistory, s.History.Count);
        Assert.Equal($"entry {RolloutStatus.MaxHistory + 49}", s.History[^1].Message);
    }
}
