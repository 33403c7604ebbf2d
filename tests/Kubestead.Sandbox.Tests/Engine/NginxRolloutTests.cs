using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>meshProvider nginx through the engine on the emulated cluster: validate --cluster, the dry run, and the end state.</summary>
public class NginxRolloutTests
{
    private const string Ns = ShopFixture.Namespace;

    private static JsonObject? Ingress(SandboxEnvironment env, string name) => env.Cluster.Peek(ResourceType.Ingress, Ns, name);

    [Fact]
    public async Task Validate_cluster_passes_on_the_shop_and_checks_Ingress_access()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var report = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("nginx") }, checkCluster: true);
        Assert.True(report.IsValid, string.Join("\n", report.Checks));
        Assert.Contains(report.Checks, c => c.Check == "crd" && c.Message.Contains("ingresses.networking.k8s.io/v1", StringComparison.Ordinal));
        Assert.Contains(report.Checks, c => c.Check == "rbac" && c.Message.StartsWith("create ingresses.networking.k8s.io", StringComparison.Ordinal));
        Assert.Contains(report.Checks, c => c.Check == "ownership" && c.Message.StartsWith("Ingress shop-canary does not exist yet", StringComparison.Ordinal));
        Assert.Empty(env.Cluster.Writes);
    }

    [Fact]
    public async Task Validate_cluster_names_a_wrong_backend_a_missing_Ingress_and_a_second_canary_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var missing = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("nginx").Replace("ingress: shop", "ingress: shop-web") }, checkCluster: true);
        Assert.Contains(missing.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.StartsWith("spec.nginx.ingress: ingresses.networking.k8s.io/shop-web in namespace shop does not exist", StringComparison.Ordinal));

        env.Cluster.Seed(ResourceType.Ingress, JsonNode.Parse("""
            {"metadata":{"name":"shop-experiment","namespace":"shop","annotations":{"nginx.ingress.kubernetes.io/canary":"true","nginx.ingress.kubernetes.io/canary-by-header":"x-exp"}},
             "spec":{"ingressClassName":"nginx","rules":[{"host":"shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"shop-exp","port":{"number":80}}}}]}}]}}
            """)!.AsObject());
        var second = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("nginx") }, checkCluster: true);
        Assert.False(second.IsValid);
        Assert.Contains(second.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("shop-experiment", StringComparison.Ordinal)
                                              && c.Message.Contains("one canary Ingress per host and path", StringComparison.Ordinal));

        var wrongService = SandboxDemoTests.SpecFor("nginx").Replace("service: shop", "service: cart").Replace("canaryService: shop-canary", "canaryService: cart-canary");
        env.Cluster.Seed(ResourceType.Service, JsonNode.Parse("""{"metadata":{"name":"cart","namespace":"shop"},"spec":{"selector":{"app":"cart"},"ports":[{"port":80}]}}""")!.AsObject());
        var wrong = await svc.TestAsync(new StartRequest { SpecYaml = wrongService }, checkCluster: true);
        Assert.Contains(wrong.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("no path of ingresses.networking.k8s.io/shop", StringComparison.Ordinal)
                                             && c.Message.Contains("Service 'cart' (spec.service)", StringComparison.Ordinal));
        Assert.Empty(env.Cluster.Writes);
    }

    [Fact]
    public async Task The_dry_run_lists_the_canary_Ingress_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var plan = await svc.PlanAsync(new StartOperation(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("nginx") }));
        Assert.Contains(plan, c => c.Verb == "prepare" && c.Description.Contains("canary Ingress shop-canary from Ingress shop", StringComparison.Ordinal));
        Assert.Empty(env.Cluster.Writes);
    }

    [Fact]
    public async Task A_completed_rollout_deletes_the_canary_Ingress_and_leaves_the_stable_Ingress_as_it_was()
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        var before = Ingress(env, "shop")!.ToJsonString();
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("nginx") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 25);
        Assert.Null(Ingress(env, "shop-canary"));
        Assert.Null(env.Cluster.Peek(ResourceType.Service, Ns, ShopFixture.CanaryService));
        Assert.Equal(before, Ingress(env, "shop")!.ToJsonString());
        Assert.DoesNotContain(env.Cluster.Writes, w => w.EndsWith(" ingresses/shop", StringComparison.Ordinal));
        var (_, _, canaryRequests, _) = env.Traffic.Simulator.Totals();
        Assert.True(canaryRequests > 0, "the simulated traffic never reached the canary through the canary Ingress");
    }

    [Theory]
    [InlineData("pause", RolloutPhase.Paused)]
    [InlineData("reassert", RolloutPhase.Completed)]
    public async Task Drift_on_the_canary_weight_is_detected_and_handled_per_policy(string policy, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create("nginx", "healthy");
        // Someone (a GitOps sync, a colleague) sets the canary weight by hand 3 minutes in.
        env.Cluster.ScheduleExternalRewrite(ResourceType.Ingress, Ns, "shop-canary", "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight",
            JsonValue.Create("40"), TimeSpan.FromMinutes(3));
        var spec = SandboxDemoTests.SpecFor("nginx").Replace("onInsufficientData: pause", $"onInsufficientData: pause\n    onDrift: {policy}");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(expected, result.Phase);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.Drift, result.PauseReason);
            Assert.Contains("canary-weight is 40, Kubestead set 5", result.Message);
            var resumed = await Task.Run(() => svc.ResumeAsync(Ns, "shop", wait: true));
            Assert.Equal(RolloutPhase.Completed, resumed.Phase);
        }
        Assert.Null(Ingress(env, "shop-canary"));
    }
}
