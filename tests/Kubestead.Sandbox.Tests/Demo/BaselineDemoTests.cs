using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;
using Xunit.Abstractions;

namespace Kubestead.Sandbox.Tests.Demo;

/// <summary>The sandbox demo with a created baseline (examples/sandbox/linkerd-baseline.yaml): a three-way split, judged against the baseline.</summary>
public class BaselineDemoTests(ITestOutputHelper output)
{
    private sealed class Recorder : IRolloutObserver
    {
        public List<RolloutEvent> Events { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Events) Events.Add(e);
        }
    }

    private static string Spec => SandboxDemoTests.SpecFor("linkerd-baseline");

    [Theory]
    [InlineData("healthy", RolloutPhase.Completed)]
    [InlineData("faulty", RolloutPhase.Aborted)]
    [InlineData("low-traffic", RolloutPhase.Paused)]
    public async Task Demo_with_a_baseline_ends_in_the_scenarios_phase_and_the_baseline_served_the_canarys_share(string scenario, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create("linkerd", scenario);
        var baselineSeen = false;
        var threeWay = false;
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (type == ResourceType.Deployment && obj?["metadata"]?["name"]?.GetValue<string>() == ShopFixture.BaselineDeployment)
            {
                baselineSeen = true;
                Assert.Equal("registry.example.com/shop:1.9.0", obj["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
                Assert.Equal("baseline", obj["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());
            }
            if (type.Plural == "httproutes" && obj?["spec"]?["rules"] is JsonArray rules
                && rules.Any(r => r?["backendRefs"] is JsonArray { Count: 3 } refs
                                  && refs[1]!["weight"]?.GetValue<int>() is > 0 and var c && refs[2]!["weight"]?.GetValue<int>() == c))
                threeWay = true;
        };
        await using var service = env.CreateService(new Recorder());
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = Spec }, wait: true));
        env.Traffic.CatchUp();
        var (baselineRequests, _) = env.Traffic.Simulator.BaselineTotals();
        var (_, _, canaryRequests, canaryFailures) = env.Traffic.Simulator.Totals();
        output.WriteLine($"=> {result.Phase} {result.PauseReason} {result.Message}; canary {canaryRequests} ({canaryFailures} failed), baseline {baselineRequests}");

        Assert.Equal(expected, result.Phase);
        Assert.True(baselineSeen, "the baseline Deployment was created");
        Assert.True(threeWay, "the route sent the baseline the canary's share");
        if (canaryRequests > 100) Assert.InRange((double)baselineRequests / canaryRequests, 0.8, 1.25);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.InsufficientData, result.PauseReason);
            Assert.Equal(result.CanaryWeight, result.BaselineWeight);
        }
        else
        {
            // Promotion and abort remove the baseline with the canary.
            Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, ShopFixture.BaselineDeployment));
            Assert.Null(env.Cluster.Peek(ResourceType.Service, ShopFixture.Namespace, ShopFixture.BaselineService));
            var route = env.Cluster.Peek(ShopFixture.GatewayHttpRoute, ShopFixture.Namespace, "shop-kubestead");
            Assert.Null(route);
            Assert.Equal(0, result.BaselineWeight);
        }
        // The verdicts compared the canary with the baseline (its counts, not stable's).
        Assert.All(result.Verdicts.Where(v => v.ControlRequests > 0), v => Assert.True(v.ControlRequests <= baselineRequests));
    }
}
