using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>API requests per weight change, counted (deterministic) rather than timed.</summary>
public class ControlPlaneCostTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("istio", 1)]
    [InlineData("linkerd", 1)]
    [InlineData("smi", 1)]
    [InlineData("none", 1)]
    public async Task A_weight_change_writes_the_route_once(string mesh, int routeWrites)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false));
        // Bring the canary's pods up first so the weight change itself is what is measured.
        await Task.Run(() => svc.SetWeightAsync("shop", "shop", mesh == "none" ? 10 : 5));
        var before = env.Cluster.Log.Count;
        await Task.Run(() => svc.SetWeightAsync("shop", "shop", mesh == "none" ? 25 : 10));
        var requests = env.Cluster.Log.Skip(before).ToList();
        var routeKinds = mesh switch { "istio" => "virtualservices", "linkerd" => "httproutes", "smi" => "trafficsplits", _ => "deployments/shop-canary/scale" };
        var writes = requests.Where(r => !r.StartsWith("GET") && !r.StartsWith("LIST")).ToList();
        output.WriteLine($"{mesh}: {requests.Count} requests, {writes.Count} writes: {string.Join("; ", writes)}");
        Assert.Equal(routeWrites, writes.Count(w => w.Contains(routeKinds)));
        // Lease acquire, route write, state save, lease release; without a mesh also the polls until the new pod is ready.
        Assert.Equal(4, writes.Count);
        if (mesh == "none") Assert.True(requests.Count <= 40, $"{mesh}: {requests.Count} requests for one weight change");
        else Assert.Equal(12, requests.Count);
    }

    /// <summary>
    /// The state ConfigMap is written on a phase, step, weight or verdict change and otherwise at most once per
    /// statusInterval (1 minute): the demo rollout's analysis windows (every 10 seconds) no longer each cost a write.
    /// </summary>
    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("smi")]
    [InlineData("none")]
    public async Task The_demo_rollout_writes_its_state_at_most_30_times(string mesh)
    {
        var result = await SandboxDemo.RunAsync(mesh, "healthy", SandboxDemoTests.SpecFor(mesh), NullRolloutObserver.Instance);
        Assert.Equal(RolloutPhase.Completed, result.Rollout.Phase);
        var writes = result.WriteLog;
        var stateWrites = writes.Count(w => w.Contains("configmaps/kubestead-shop"));
        output.WriteLine($"{mesh}: {result.ApiRequests} requests, {result.ApiWrites} writes, {stateWrites} state writes, {result.SimulatedDuration} simulated");
        foreach (var g in writes.GroupBy(w => w)) output.WriteLine($"  {g.Count(),4} {g.Key}");
        Assert.True(stateWrites <= 30, $"{mesh}: {stateWrites} state writes");
        // Lowering the interval writes more: the throttle, not a lost save, is what keeps the count down.
        var eager = await SandboxDemo.RunAsync(mesh, "healthy", SandboxDemoTests.SpecFor(mesh).Replace("  policies:\n", "  statusInterval: 0s\n  policies:\n"),
            NullRolloutObserver.Instance);
        Assert.Equal(RolloutPhase.Completed, eager.Rollout.Phase);
        Assert.True(eager.WriteLog.Count(w => w.Contains("configmaps/kubestead-shop")) > stateWrites + 20);
    }
}
