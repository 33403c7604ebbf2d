using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Engine;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.Demo;

/// <summary>
/// The sandbox demo with a created baseline (examples/sandbox/&lt;mesh&gt;-baseline.yaml): a three-way split, judged
/// against the baseline; promotion and abort leave no baseline object and the user's objects as they were.
/// </summary>
public class BaselineDemoTests(ITestOutputHelper output)
{
    internal static string SpecFor(string mesh) => SandboxDemoTests.SpecFor($"{mesh}-baseline");

    /// <summary>Whether an object the mesh reads routes the canary and the baseline the same non-zero share (three ways).</summary>
    private static bool IsThreeWay(string mesh, ResourceType type, JsonObject? obj)
    {
        if (obj is null) return false;
        var spec = obj["spec"];
        if (mesh == "linkerd" && type.Plural == "httproutes" && spec?["rules"] is JsonArray rules)
            return rules.Any(r => r?["backendRefs"] is JsonArray { Count: 3 } refs
                                  && refs[1]!["weight"]?.GetValue<int>() is > 0 and var c && refs[2]!["weight"]?.GetValue<int>() == c);
        if (mesh == "istio" && type.Plural == "virtualservices" && spec?["http"] is JsonArray http)
            return http.Any(r => r?["route"] is JsonArray { Count: 3 } d
                                 && d[2]!["destination"]!["subset"]!.GetValue<string>() == "baseline"
                                 && d[1]!["weight"]?.GetValue<int>() is > 0 and var c && d[2]!["weight"]?.GetValue<int>() == c
                                 && d[0]!["weight"]!.GetValue<int>() == 100 - 2 * c);
        if (mesh == "smi" && type.Plural == "trafficsplits" && spec?["backends"] is JsonArray b)
            return b.Count == 3 && b[2]!["service"]!.GetValue<string>() == ShopFixture.BaselineService
                   && b[1]!["weight"]?.GetValue<int>() is > 0 and var w && b[2]!["weight"]?.GetValue<int>() == w;
        if (mesh == "none" && type == ResourceType.Deployment && obj["metadata"]?["name"]?.GetValue<string>() == ShopFixture.BaselineDeployment)
            return spec?["replicas"]?.GetValue<int>() is > 0;
        return false;
    }

    public static TheoryData<string, string, RolloutPhase> Cases()
    {
        var data = new TheoryData<string, string, RolloutPhase>();
        foreach (var mesh in SandboxDemo.BaselineMeshes)
        {
            data.Add(mesh, "healthy", RolloutPhase.Completed);
            data.Add(mesh, "faulty", RolloutPhase.Aborted);
            data.Add(mesh, "low-traffic", RolloutPhase.Paused);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Demo_with_a_baseline_ends_in_the_scenarios_phase_and_the_baseline_served_the_canarys_share(string mesh, string scenario, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create(mesh, scenario);
        var before = StartTransactionTests.Snapshot(env.Cluster);
        var baselineSeen = false;
        var threeWay = false;
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (type == ResourceType.Deployment && obj?["metadata"]?["name"]?.GetValue<string>() == ShopFixture.BaselineDeployment)
            {
                baselineSeen = true;
                Assert.Equal("registry.example.com/shop:1.9.0", obj["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
                Assert.Equal("baseline", obj["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());
                if (mesh != "none")
                {
                    // Sized like the canary (the canary may lag one write behind while both scale).
                    var canary = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary");
                    Assert.NotNull(canary);
                }
            }
            if (IsThreeWay(mesh, type, obj)) threeWay = true;
        };
        await using var service = env.CreateService(new RecordingObserver());
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = SpecFor(mesh) }, wait: true));
        env.Traffic.CatchUp();
        var (baselineRequests, _) = env.Traffic.Simulator.BaselineTotals();
        var (_, _, canaryRequests, canaryFailures) = env.Traffic.Simulator.Totals();
        output.WriteLine($"{mesh} {scenario} => {result.Phase} {result.PauseReason} {result.Message}; canary {canaryRequests} ({canaryFailures} failed), baseline {baselineRequests}");

        Assert.Equal(expected, result.Phase);
        Assert.True(baselineSeen, "the baseline Deployment was created");
        Assert.True(threeWay, $"the {mesh} routing sent the baseline the canary's share");
        if (canaryRequests > 100) Assert.InRange((double)baselineRequests / canaryRequests, 0.75, 1.33);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.InsufficientData, result.PauseReason);
            Assert.Equal(result.CanaryWeight, result.BaselineWeight);
            Assert.NotNull(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.BaselineDeployment));
        }
        else
        {
            // Promotion and abort remove the baseline with the canary; the user's objects are as they were (stable's template apart, after promotion).
            Assert.Empty(ShopFixture.BaselineLeftovers(env.Cluster));
            Assert.Equal(0, result.BaselineWeight);
            var after = StartTransactionTests.Snapshot(env.Cluster);
            after.Remove("configmaps/kubestead-shop");
            after.Remove("leases.coordination.k8s.io/kubestead-shop");
            before.Remove("leases.coordination.k8s.io/kubestead-shop");
            foreach (var key in before.Keys.Where(k => k != "deployments.apps/shop"))
                Assert.True(after.TryGetValue(key, out var v) && v == before[key], $"{key} changed:\n{before[key]}\n{(after.TryGetValue(key, out var a) ? a : "(gone)")}");
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
        }
        // The verdicts compared the canary with the baseline (its counts, not stable's).
        Assert.All(result.Verdicts.Where(v => v.ControlRequests > 0), v => Assert.True(v.ControlRequests <= baselineRequests));
    }

    [Theory]
    [InlineData("istio", "healthy", 0)]
    [InlineData("smi", "faulty", 3)]
    [InlineData("none", "low-traffic", 4)]
    [InlineData("linkerd", "healthy", 0)]
    public async Task The_demo_run_with_a_baseline_reports_its_traffic_and_that_it_is_gone(string mesh, string scenario, int exitCode)
    {
        var result = await SandboxDemo.RunWithBaselineAsync(mesh, scenario, new RecordingObserver());
        Assert.Equal(exitCode, result.Rollout.Phase switch { RolloutPhase.Completed => 0, RolloutPhase.Aborted => 3, RolloutPhase.Paused => 4, _ => -1 });
        // At 1 request/s (low-traffic) a baseline may see no request at all; otherwise it served its share.
        if (exitCode != 4) Assert.True(result.BaselineRequests > 0, "the baseline served requests");
        if (exitCode == 4) Assert.NotEmpty(result.BaselineLeftovers); // paused: the rollout (and its baseline) is still there
        else Assert.Empty(result.BaselineLeftovers);
    }

    [Theory]
    [InlineData("nginx", "ingress-nginx splits a host between two Ingresses only")]
    [InlineData("linkerd1", "the Linkerd 1.x router writes a two-way dtab")]
    public async Task The_demo_refuses_a_baseline_on_meshes_that_cannot_route_one(string mesh, string why)
    {
        var e = await Assert.ThrowsAsync<KubesteadException>(() => SandboxDemo.RunWithBaselineAsync(mesh, "healthy", new RecordingObserver()));
        Assert.Equal("BaselineNotSupported", e.ErrorId);
        Assert.Contains(why, e.Message);
    }
}
