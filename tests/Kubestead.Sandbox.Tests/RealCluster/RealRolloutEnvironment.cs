using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// One real-cluster rollout test's world: a fresh namespace, the admin client, a <see cref="ReadinessController"/>
/// standing in for the missing controller manager, and Kubestead services connected through <see cref="RealCluster"/>.
/// </summary>
public sealed class RealRolloutEnvironment : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = new();

    private RealRolloutEnvironment(IKubernetesApi admin, string ns)
    {
        Admin = admin;
        Namespace = ns;
        Readiness = new ReadinessController(admin, ns);
    }

    public IKubernetesApi Admin { get; }
    public string Namespace { get; }
    public ReadinessController Readiness { get; }

    public static async Task<RealRolloutEnvironment> CreateAsync(string prefix)
    {
        var admin = await RealCluster.ConnectAsync();
        return new RealRolloutEnvironment(admin, await RealCluster.CreateNamespaceAsync(admin, prefix));
    }

    /// <summary>Creates the objects in this namespace; returns them as the server stored them.</summary>
    public async Task<List<JsonObject>> SeedAsync(params (ResourceType Type, JsonObject Object)[] objects)
    {
        var stored = new List<JsonObject>();
        foreach (var (type, obj) in objects)
        {
            var copy = obj.DeepClone().AsObject();
            copy["metadata"]!["namespace"] = Namespace;
            stored.Add(await Admin.CreateAsync(type, Namespace, copy));
        }
        foreach (var d in stored.Where(o => o["kind"]?.GetValue<string>() == "Deployment"))
            await WaitReadyAsync(d["metadata"]!["name"]!.GetValue<string>());
        return stored;
    }

    public Task<JsonObject> GetAsync(ResourceType type, string name) => Admin.GetAsync(type, Namespace, name);

    /// <summary>A Kubestead service as a user (or CI job) would have it: its own client, clock and driver identity.</summary>
    public async Task<KubesteadService> ServiceAsync(TimeProvider clock, string driver = "ci-1", string context = RealCluster.Admin,
        TimeSpan? leaseDuration = null)
    {
        var api = await RealCluster.ConnectAsync(context, Namespace);
        var service = new KubesteadService(api, new KubesteadServiceOptions
        {
            Clock = clock,
            Driver = new DriverIdentity(driver, "realcluster-test", null, driver),
            PollInterval = TimeSpan.FromSeconds(30),
            LeaseDuration = leaseDuration ?? TimeSpan.FromSeconds(60),
        });
        _owned.Add(service);
        return service;
    }

    /// <summary>A clock that jumps to each wait: a rollout's pauses take no wall time.</summary>
    public static VirtualClock JumpingClock(DateTimeOffset? start = null) =>
        new(start ?? new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero), autoAdvance: true);

    public async Task WaitReadyAsync(string deployment)
    {
        for (var i = 0; i < 200; i++)
        {
            var d = await GetAsync(ResourceType.Deployment, deployment);
            if (d["status"]?["observedGeneration"]?.GetValue<long>() == d["metadata"]!["generation"]!.GetValue<long>()
                && d["status"]?["readyReplicas"]?.GetValue<int>() == (d["spec"]?["replicas"]?.GetValue<int>() ?? 1)) return;
            await Task.Delay(25);
        }
        throw new TimeoutException($"Deployment {deployment} in {Namespace} was not marked ready");
    }

    /// <summary>Polls (in wall time) until <paramref name="condition"/> holds for the rollout's state.</summary>
    public static async Task<RolloutResult> WaitForAsync(IKubesteadService service, string ns, string name, Func<RolloutResult, bool> condition,
        TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var r = await service.GetAsync(ns, name);
                if (condition(r)) return r;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"rollout {name} stayed {r.Phase} at weight {r.CanaryWeight} (step {r.StepIndex})");
            }
            catch (KubesteadException) when (DateTime.UtcNow <= deadline)
            {
                // Not recorded yet.
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var o in _owned) await o.DisposeAsync();
        await Readiness.DisposeAsync();
        if (Admin is IAsyncDisposable d) await d.DisposeAsync();
    }
}

/// <summary>
/// A virtual clock driven forward in the background, one virtual second every few milliseconds: waits pass quickly
/// but in order, so a test can act (drift, a second driver, a kill) while a driver sits in a pause.
/// </summary>
public sealed class PumpedClock : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public PumpedClock(DateTimeOffset? start = null)
    {
        Clock = new VirtualClock(start ?? new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
        _pump = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
                try
                {
                    await Task.Delay(5, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public VirtualClock Clock { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
