using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Simulation;
using Kubestead.Sandbox.Tests.Demo;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue #25 item 1: the share each version's pods receive, resolved through the Services' selectors as the data plane
/// does, is the share the route gives that version, at every write of a rollout and after its abort; a stable Service
/// that also selects the canary's pods is refused before anything is written.
/// </summary>
public class PodSharesPerMeshTests(ITestOutputHelper output)
{
    private sealed class Quiet : IRolloutObserver
    {
        public void OnEvent(RolloutEvent e)
        {
        }
    }

    public static TheoryData<string, bool, string> Cases()
    {
        var data = new TheoryData<string, bool, string>();
        foreach (var mesh in new[] { "istio", "linkerd", "smi", "nginx", "none" })
        foreach (var scenario in new[] { "healthy", "faulty" })
        {
            data.Add(mesh, false, scenario);
            if (mesh != "nginx") data.Add(mesh, true, scenario);
        }
        return data;
    }

    /// <summary>The canary's and the baseline's shares as the route names them (what Kubestead wrote), or null without a mesh.</summary>
    private static (double Canary, double Baseline)? NamedShares(EmulatedClusterView view) => view.Mesh switch
    {
        "istio" => view.Peek(ShopFixture.VirtualService, ShopFixture.Name) is { } vs
            ? (RouteShareReader.FromVirtualService(vs, d => d["subset"]?.GetValue<string>() == "canary"),
               RouteShareReader.FromVirtualService(vs, d => d["subset"]?.GetValue<string>() == "baseline"))
            : (0, 0),
        "linkerd" => view.Peek(ShopFixture.GatewayHttpRoute, $"{ShopFixture.Name}-kubestead") is { } route
            ? RouteShareReader.SharesFromHttpRoute(route, ShopFixture.CanaryService, ShopFixture.BaselineService)
            : (0, 0),
        "smi" => view.Peek(ShopFixture.TrafficSplit, ShopFixture.Name) is { } split
            ? (RouteShareReader.FromTrafficSplit(split, ShopFixture.CanaryService), RouteShareReader.FromTrafficSplit(split, ShopFixture.BaselineService))
            : (0, 0),
        "nginx" => (RouteShareReader.FromCanaryIngress(view.Peek(ResourceType.Ingress, $"{ShopFixture.Name}-canary")), 0),
        _ => null,
    };

    private sealed record EmulatedClusterView(SandboxEnvironment Env)
    {
        public string Mesh => Env.Mesh;
        public JsonObject? Peek(ResourceType type, string name) => Env.Cluster.Peek(type, ShopFixture.Namespace, name);
        public int Ready(string deployment) => RouteShareReader.ReadyReplicas(Peek(ResourceType.Deployment, deployment));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_versions_pods_receive_the_share_the_route_gives_it_at_every_write_and_after_abort(string mesh, bool baseline, string scenario)
    {
        var env = SandboxEnvironment.Create(mesh, scenario);
        var view = new EmulatedClusterView(env);
        var problems = new List<string>();
        var checkedWithCanaryTraffic = 0;
        var checkedAfterCanaryTraffic = 0;
        var canaryHadTraffic = false;
        env.Cluster.Changed += (_, _, _) =>
        {
            var pods = ShopFixture.PodShares(env.Cluster, mesh);
            var canaryReady = view.Ready($"{ShopFixture.Name}-canary");
            var baselineReady = view.Ready(ShopFixture.BaselineDeployment);
            double canary, base_, stable;
            if (NamedShares(view) is { } named)
            {
                // A version with no ready pod drops out of the route; the others share its weight.
                var c = canaryReady > 0 ? named.Canary : 0;
                var b = baselineReady > 0 ? named.Baseline : 0;
                var st = view.Ready(ShopFixture.Name) > 0 ? 1 - named.Canary - named.Baseline : 0;
                var sum = c + b + st;
                (canary, base_, stable) = sum <= 0 ? (0, 0, 0) : (c / sum, b / sum, st / sum);
            }
            else
            {
                // Without a mesh the Service spreads over every ready pod it selects: stable's, the canary's and the baseline's alike.
                var total = view.Ready(ShopFixture.Name) + canaryReady + baselineReady;
                (canary, base_, stable) = total == 0 ? (0, 0, 0) : ((double)canaryReady / total, (double)baselineReady / total, (double)view.Ready(ShopFixture.Name) / total);
            }
            if (Math.Abs(pods.Canary - canary) > 1e-9 || Math.Abs(pods.Baseline - base_) > 1e-9 || Math.Abs(pods.Stable - stable) > 1e-9)
                problems.Add($"routed stable {stable:P3} canary {canary:P3} baseline {base_:P3}, but the pods get stable {pods.Stable:P3} canary {pods.Canary:P3} baseline {pods.Baseline:P3}");
            if (canary > 0) canaryHadTraffic = true;
            if (canaryReady > 0 && canary > 0) checkedWithCanaryTraffic++;
            // The abort's "all traffic back to stable" while the canary's pods still run: they must get nothing.
            if (canaryHadTraffic && canaryReady > 0 && canary == 0 && mesh != "none")
            {
                checkedAfterCanaryTraffic++;
                if (pods.Canary != 0) problems.Add($"after the weight went back to 0 the canary's pods still get {pods.Canary:P3}");
            }
        };
        await using var service = env.CreateService(new Quiet());
        var spec = baseline ? BaselineDemoTests.SpecFor(mesh) : SandboxDemoTests.SpecFor(mesh);
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        output.WriteLine($"{mesh} baseline={baseline} {scenario}: {result.Phase}; {checkedWithCanaryTraffic} writes checked with canary traffic, {checkedAfterCanaryTraffic} after it went back to 0");

        Assert.Equal(scenario == "healthy" ? RolloutPhase.Completed : RolloutPhase.Aborted, result.Phase);
        foreach (var p in problems.Take(5)) output.WriteLine(p);
        Assert.Empty(problems);
        Assert.True(checkedWithCanaryTraffic > 0, "some writes were checked while the canary had traffic");
        if (scenario == "faulty" && mesh != "none") Assert.True(checkedAfterCanaryTraffic > 0, "the abort's return to stable was checked while the canary's pods ran");
        var end = ShopFixture.PodShares(env.Cluster, mesh);
        Assert.Equal(0, end.Canary);
        Assert.Equal(0, end.Baseline);
        Assert.Equal(1, end.Stable, 9);
    }

    [Theory]
    [InlineData("linkerd", false)]
    [InlineData("linkerd", true)]
    [InlineData("smi", false)]
    [InlineData("smi", true)]
    [InlineData("nginx", false)]
    public async Task A_stable_Service_that_also_selects_the_canarys_pods_is_refused_naming_it_and_nothing_is_written(string mesh, bool baseline)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        // The ordinary selector most Services have: it matches every pod of the app, whatever its version.
        var svc = env.Cluster.Peek(ResourceType.Service, ShopFixture.Namespace, ShopFixture.Name)!;
        svc["spec"]!["selector"] = new JsonObject { ["app"] = "shop" };
        await env.Cluster.ReplaceAsync(ResourceType.Service, ShopFixture.Namespace, ShopFixture.Name, svc);
        var before = StartTransactionTests.Snapshot(env.Cluster);
        var writesBefore = env.Cluster.Writes.Count;
        await using var service = env.CreateService(new Quiet());
        var spec = baseline ? BaselineDemoTests.SpecFor(mesh) : SandboxDemoTests.SpecFor(mesh);

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        var failed = Assert.Single(check.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.Contains("spec.service: services/shop in namespace shop also selects the pods labelled version=", failed.Message);
        Assert.Contains("add version=stable to its spec.selector", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal("StableServiceSelectsOtherPods", e.ErrorId);
        Assert.Contains("spec.service", e.Message);
        Assert.Equal(writesBefore, env.Cluster.Writes.Count);
        Assert.Equal(before, StartTransactionTests.Snapshot(env.Cluster));
    }
}
