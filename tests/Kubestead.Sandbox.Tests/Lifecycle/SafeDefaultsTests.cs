using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Specs;

namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>Issue #19 item 4 and 2 on the sandbox: defaults that are safe once the CI job that drove the rollout is gone.</summary>
public class SafeDefaultsTests
{
    private static KubesteadService FailingMetrics(SandboxEnvironment env) => new(env.Cluster, new KubesteadServiceOptions
    {
        Clock = env.Clock,
        Driver = new DriverIdentity("t", "h", null, "1"),
        Metrics = (_, _) => (_, _, _) => throw new MetricsUnavailableException("Prometheus at http://127.0.0.1:1/ cannot be reached"),
    });

    [Fact]
    public async Task By_default_metrics_that_keep_failing_abort_and_return_traffic_to_stable()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = FailingMetrics(env);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.Equal(RolloutPhase.Failed, result.Phase);
        Assert.Contains("metrics failed 3 times in a row", result.Message);
        Assert.Equal(0, result.CanaryWeight);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 5)]
    public async Task An_automatic_pause_returns_traffic_to_stable_unless_the_spec_holds_the_weight(bool hold, double expectedWeight)
    {
        var env = SandboxEnvironment.Create("istio", "low-traffic");
        var spec = SandboxDemoTests.SpecFor("istio")
            .Replace("onInsufficientData: pause", $"onInsufficientData: pause\n    holdWeightWhilePaused: {(hold ? "true" : "false")}");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var paused = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(PauseReason.InsufficientData, paused.PauseReason);
        Assert.Equal(expectedWeight, paused.CanaryWeight);
        var route = ShopFixture.Reader(env.Cluster, "istio")();
        Assert.Equal(expectedWeight / 100, route.CanaryShare, 3);
        if (hold) return;

        // Resuming puts the canary back at the weight it had, and the route with it.
        var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, ShopFixture.Name, wait: false));
        Assert.Equal(RolloutPhase.Progressing, resumed.Phase);
        Assert.Equal(5, resumed.CanaryWeight);
        Assert.Equal(0.05, ShopFixture.Reader(env.Cluster, "istio")().CanaryShare, 3);
    }

    [Fact]
    public async Task A_success_rate_written_as_a_fraction_is_refused_before_anything_is_written()
    {
        var env = SandboxEnvironment.Create("istio", "faulty");
        var spec = SandboxDemoTests.SpecFor("istio").Replace(
            "          sequential:\n            alpha: 0.05\n            detectRatio: 5\n", "          threshold:\n            successRate: 0.99\n");
        Assert.Contains("successRate: 0.99", spec);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var report = await svc.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: false);
        Assert.False(report.IsValid);
        Assert.Contains(report.Checks, c => c.Message.Contains("successRate is a percentage; did you mean 99?"));
        var writes = env.Cluster.Writes.Count;
        await Assert.ThrowsAsync<RolloutSpecInvalidException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true)));
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task A_weight_below_one_percent_is_flagged_as_a_likely_fraction()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = SandboxDemoTests.SpecFor("istio").Replace("setWeight: 5\n", "setWeight: 0.5\n");
        Assert.Contains("setWeight: 0.5", spec);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var report = await svc.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: false);
        Assert.Contains(report.Checks, c => c.Outcome == CheckOutcome.Warning && c.Message.Contains("did you mean 50?"));
    }
}

/// <summary>Issue #19 item 11: GitOps settings cover the stable Deployment that promotion rewrites.</summary>
public class GitOpsDeploymentTests
{
    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("none")]
    public async Task Gitops_settings_tell_argo_and_flux_to_leave_stables_template_to_kubestead(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false));
        var g = await svc.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name);
        var argo = Kubestead.Sandbox.Schema.YamlJson.Parse(g.ArgoCdIgnoreDifferences)!;
        var deployment = argo["ignoreDifferences"]!.AsArray().Single(e => e!["kind"]!.GetValue<string>() == "Deployment")!;
        Assert.Equal("shop", deployment["name"]!.GetValue<string>());
        Assert.Contains(deployment["jsonPointers"]!.AsArray(), p => p!.GetValue<string>() == "/spec/template");
        if (mesh == "none") Assert.Contains(deployment["jsonPointers"]!.AsArray(), p => p!.GetValue<string>() == "/spec/replicas");
        Assert.Contains("Deployment shop: after promotion", g.FluxGuidance);
    }
}
