using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Demo;

/// <summary>The engine's user-level operations on meshProvider linkerd1, against the sandbox's namerd.</summary>
public class Linkerd1EngineTests
{
    private static string Spec(string? replace = null, string? with = null)
    {
        var yaml = SandboxDemoTests.SpecFor("linkerd1");
        return replace is null ? yaml : yaml.Replace(replace, with);
    }

    [Fact]
    public async Task Validate_against_the_cluster_checks_namerd_the_namespace_and_the_prefix()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        await using var service = env.CreateService(NullRolloutObserver.Instance);
        var ok = await service.TestAsync(new StartRequest { SpecYaml = Spec() }, checkCluster: true);
        Assert.True(ok.IsValid, string.Join("\n", ok.Checks.Select(c => $"{c.Outcome} {c.Message}")));

        var startPlan = await service.PlanAsync(new StartOperation(new StartRequest { SpecYaml = Spec() }));
        Assert.Contains(startPlan, c => c.Verb == "prepare" && c.Description.Contains("append the dentry '/svc/shop => 100 * /env/prod/shop & 0 * /env/prod/shop-canary'"));

        var noNamespace = await service.TestAsync(new StartRequest { SpecYaml = Spec("namespace: shop\n    prefix", "namespace: billing\n    prefix") }, checkCluster: true);
        Assert.False(noNamespace.IsValid);
        Assert.Contains(noNamespace.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("spec.linkerd1.namespace"));

        var unrouted = await service.TestAsync(new StartRequest { SpecYaml = Spec("prefix: /svc/shop", "prefix: /http/1.1/shop") }, checkCluster: true);
        Assert.Contains(unrouted.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("spec.linkerd1.prefix"));
        Assert.DoesNotContain(env.Namerd!.Log, l => l.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dry_runs_write_nothing_and_the_header_route_shows_the_l5d_dtab_header()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        await using var service = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = Spec() }, wait: false));
        var dtab = env.Namerd!.Peek(ShopFixture.DtabNamespace);
        Assert.EndsWith("/svc/shop => 100 * /env/prod/shop & 0 * /env/prod/shop-canary;\n", dtab);

        var plan = await service.PlanAsync(new SetWeightOperation(ShopFixture.Namespace, "shop", 2.5));
        var put = Assert.Single(plan);
        Assert.Equal("put", put.Verb);
        Assert.Contains("975 * /env/prod/shop & 25 * /env/prod/shop-canary", put.Description);
        // No route write: what the client sends, then the rollout's record (the only write the real call makes).
        var headerPlan = await service.PlanAsync(new SetHeaderRouteOperation(ShopFixture.Namespace, "shop", new HeaderRouteRequest("testers")));
        Assert.Equal("none", headerPlan[0].Verb);
        Assert.All(headerPlan.Skip(1), c => Assert.StartsWith("configmaps/kubestead-shop", c.Target, StringComparison.Ordinal));
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));

        var result = await service.SetHeaderRouteAsync(ShopFixture.Namespace, "shop", new HeaderRouteRequest("testers"));
        Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", result.Message);
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));
    }

    [Theory]
    [InlineData("pause", RolloutPhase.Paused)]
    [InlineData("reassert", RolloutPhase.Completed)]
    public async Task Someone_editing_Kubesteads_dentry_is_drift_handled_per_policy(string policy, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var namerd = env.Namerd!;
        // An operator puts all traffic back on stable by hand, a minute after Kubestead set 25%. The edit is made from the
        // engine's own events (the first window verdict a minute after the 25% write), not from a timer: the sandbox's
        // auto-advancing clock assumes only the engine arms timers, and a second armer races it (a timer-made edit
        // once landed where the step ended on windows the edit had starved, a pause for insufficient data).
        var edited = "";
        DateTimeOffset? at25 = null;
        var observer = new EditingObserver(e =>
        {
            if (e is WeightAppliedEvent { CanaryPercent: 25 } && at25 is null) at25 = e.At;
            if (edited.Length > 0 || at25 is null || e is not VerdictEvent || e.At < at25.Value.AddMinutes(1)) return;
            var before = namerd.Peek(ShopFixture.DtabNamespace)!;
            Assert.Contains("75 * /env/prod/shop & 25 * /env/prod/shop-canary", before);
            namerd.Seed(ShopFixture.DtabNamespace, before.Replace("75 * /env/prod/shop & 25 *", "100 * /env/prod/shop & 0 *"));
            edited = before + "\n=>\n" + namerd.Peek(ShopFixture.DtabNamespace);
        });
        var spec = Spec("onInsufficientData: pause", $"onInsufficientData: pause\n    onDrift: {policy}");
        await using var svc = env.CreateService(observer);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.True(edited.Length > 0 && result.Phase == expected, $"{result.Phase} {result.PauseReason} {result.Message}\n" + edited + "\n" + string.Join("\n", result.History.Select(h => $"{h.At:HH:mm:ss} {h.Message}")));
        Assert.Equal(expected, result.Phase);
        if (expected == RolloutPhase.Paused)
        {
            Assert.Equal(PauseReason.Drift, result.PauseReason);
            Assert.Contains("/svc/shop", result.Message);
            var resumed = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
            Assert.Equal(RolloutPhase.Completed, resumed.Phase);
        }
        Assert.DoesNotContain("/svc/shop =>", namerd.Peek(ShopFixture.DtabNamespace));
    }

    private sealed class EditingObserver(Action<RolloutEvent> onEvent) : IRolloutObserver
    {
        public void OnEvent(RolloutEvent e) => onEvent(e);
    }
}
