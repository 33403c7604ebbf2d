using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

public class AnalysisPolicyTests
{
    [Theory]
    [InlineData("pause", RolloutPhase.Paused)]
    [InlineData("fail", RolloutPhase.Failed)]
    public async Task Inconclusive_windows_past_the_limit_pause_or_fail_per_policy(string policy, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create("istio", "low-traffic");
        var spec = SandboxDemoTests.SpecFor("istio")
            .Replace("    interval: 10s\n", "    interval: 10s\n    limits:\n      inconclusiveWindows: 6\n")
            .Replace("onInsufficientData: pause", $"onInsufficientData: {policy}");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(expected, result.Phase);
        Assert.Contains("6 analysis windows in a row without a verdict", result.Message);
        // The limit cut the wait short: well before the 10-minute analysis step would have ended.
        Assert.True(result.UpdatedAt - result.StartedAt < TimeSpan.FromMinutes(3), $"{result.UpdatedAt - result.StartedAt}");
        if (expected == RolloutPhase.Failed) Assert.Equal(0, result.CanaryWeight);
    }

    [Fact]
    public async Task Metrics_that_keep_failing_pause_the_rollout_and_never_count_as_a_pass()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = new KubesteadService(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Driver = new DriverIdentity("t", "h", null, "1"),
            Metrics = (_, _) => (_, _, _) => throw new MetricsUnavailableException("Prometheus at http://127.0.0.1:1/ cannot be reached"),
        });
        var spec = SandboxDemoTests.SpecFor("istio").Replace("onInsufficientData: pause", "onInsufficientData: pause\n    onMetricErrors: pause");
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.MetricErrors, result.PauseReason);
        Assert.Contains("metrics failed 3 times in a row", result.Message);
        Assert.All(result.Verdicts, v => Assert.Equal(Kubestead.Analysis.VerdictOutcome.Error, v.Outcome));
    }
}

public class PromotionModeTests
{
    [Fact]
    public async Task Weight_only_promotion_leaves_the_stable_template_to_the_pipeline()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = SandboxDemoTests.SpecFor("istio").Replace("onInsufficientData: pause", "onInsufficientData: pause\n    promotion: weightOnly");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Equal(100, result.CanaryWeight);
        Assert.Contains("weight-only", result.Message);
        var stable = env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        Assert.Equal("registry.example.com/shop:1.9.0", stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.NotNull(env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
    }

    [Fact]
    public async Task Full_promotion_makes_stable_run_the_canary_image()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        var stable = env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        Assert.Equal("registry.example.com/shop:2.0.0", stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("stable", stable["spec"]!["template"]!["metadata"]!["labels"]!["version"]!.GetValue<string>());
        Assert.Null(env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        Assert.Null(env.Cluster.Peek(Kubestead.Kubernetes.ResourceType.Service, ShopFixture.Namespace, "shop-canary"));
    }
}

public class ClusterCheckTests
{
    [Fact]
    public async Task Test_with_cluster_checks_apis_objects_and_permissions()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var ok = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, checkCluster: true);
        Assert.True(ok.IsValid, string.Join("\n", ok.Checks));
        Assert.Contains(ok.Checks, c => c.Check == "crd" && c.Outcome == CheckOutcome.Passed && c.Message.Contains("virtualservices.networking.istio.io"));
        Assert.Contains(ok.Checks, c => c.Check == "rbac" && c.Outcome == CheckOutcome.Passed);

        env.Cluster.CustomTypes.RemoveAll(t => t.Group == "split.smi-spec.io"); // as on a cluster without the SMI CRDs
        var smi = await svc.TestAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("smi") }, checkCluster: true);
        Assert.False(smi.IsValid);
        Assert.Contains(smi.Checks, c => c.Check == "crd" && c.Outcome == CheckOutcome.Failed && c.Message.Contains("install the smi CRDs"));
    }
}
