using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// <see cref="IKubesteadService.ChangeAsync"/>: the -PassThru cmdlets' one Core call. A confirmed plan is written; a plan
/// with nothing to write calls no write, so the rollout's history, notifications and Events stay as they were.
/// </summary>
public sealed class ChangeRolloutTests
{
    private const string Ns = "web";
    private const string App = "shop";
    private readonly VirtualClock _clock = new(new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero), autoAdvance: true);
    private readonly EmulatedCluster _cluster;
    private readonly RecordingObserver _observer = new();

    public ChangeRolloutTests()
    {
        _cluster = new EmulatedCluster(_clock, podReadyDelay: TimeSpan.FromSeconds(20));
        _cluster.Seed(ResourceType.Deployment, ControllerTestApp.Deployment(Ns, App));
        _cluster.Seed(ResourceType.Service, ControllerTestApp.Service(Ns, App));
    }

    private KubesteadService Service() => new(_cluster, new KubesteadServiceOptions
    {
        Clock = _clock, Driver = new DriverIdentity("ci", "runner", null, "ci"), Observer = _observer,
    });

    [Fact]
    public async Task A_plan_with_nothing_to_write_calls_no_write_and_returns_the_rollout_only_when_asked()
    {
        await using var service = Service();
        IKubesteadService svc = service;
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = ControllerTestApp.RolloutSpec(Ns, App, readyTimeout: "2m", pause: "2m") }, wait: false))
            .WaitAsync(TimeSpan.FromMinutes(2));
        var pause = new PauseOperation(Ns, App);

        var paused = await svc.ChangeAsync(pause, await svc.PlanAsync(pause), returnUnchanged: false);
        Assert.Equal(RolloutPhase.Paused, paused!.Phase);

        var plan = await svc.PlanAsync(pause);
        Assert.All(plan, c => Assert.Equal("none", c.Verb));
        var writes = _cluster.Writes.Count;
        int events;
        lock (_observer.Events) events = _observer.Events.Count;

        Assert.Null(await svc.ChangeAsync(pause, plan, returnUnchanged: false));
        var unchanged = await svc.ChangeAsync(pause, plan, returnUnchanged: true);

        Assert.Equal(RolloutPhase.Paused, unchanged!.Phase);
        Assert.Equal(paused.History.Count, unchanged.History.Count);
        Assert.Equal(writes, _cluster.Writes.Count);
        lock (_observer.Events) Assert.Equal(events, _observer.Events.Count);
    }

    [Fact]
    public async Task An_operation_that_is_not_a_change_of_one_thing_is_refused()
    {
        await using var service = Service();
        IKubesteadService svc = service;
        await Assert.ThrowsAsync<ArgumentException>(() => svc.ChangeAsync(new PromoteOperation(Ns, App), [], returnUnchanged: true));
    }
}
