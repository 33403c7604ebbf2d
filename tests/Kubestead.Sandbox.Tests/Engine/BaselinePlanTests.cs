using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Specs;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>The dry run and the permission checks of a rollout with a created baseline (issue #13 item 5).</summary>
public class BaselinePlanTests
{
    [Theory]
    [InlineData("istio", "step 2: setWeight 10% (baseline 10%, stable 80%)", "add subset 'baseline' (version=baseline) to DestinationRule shop")]
    [InlineData("smi", "step 3: setWeight 25% (baseline 25%, stable 50%)", "create Service shop-baseline (the baseline pods) and add its backend at weight 0")]
    [InlineData("none", "step 1: setWeight 20% (pods stable 9 : canary 3 : baseline 3, so about 60% : 20% : 20%)", "the Service spreads traffic over the baseline pods as well")]
    [InlineData("linkerd", "step 2: setWeight 10% (baseline 10%, stable 80%)", "create Service shop-baseline (the baseline pods) and add its backendRef at weight 0")]
    public async Task The_dry_run_lists_the_baseline_Deployment_and_the_baseline_share_at_each_step_and_writes_nothing(string mesh, string step, string prepare)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var writes = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var plan = await svc.PlanAsync(new StartOperation(new StartRequest { SpecYaml = BaselineDemoTests.SpecFor(mesh) }));

        Assert.Equal(writes, env.Cluster.Writes.Count);
        var baseline = Assert.Single(plan, c => c.Target == "deployments.apps/shop-baseline in namespace shop");
        Assert.Equal("create", baseline.Verb);
        Assert.Contains("stable's pod template and image with version=baseline", baseline.Description);
        Assert.Contains("registry.example.com/shop:1.9.0", baseline.Body);
        Assert.Contains(plan, c => c.Verb == "step" && c.Description == step);
        Assert.Contains(prepare, Assert.Single(plan, c => c.Verb == "prepare").Description);
        Assert.All(plan.Where(c => c.Verb == "step" && c.Description.Contains("setWeight", StringComparison.Ordinal)),
            c => Assert.Contains("baseline", c.Description));
    }

    [Fact]
    public async Task Set_weight_by_hand_shows_the_baseline_weight_in_the_dry_run()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var started = await Task.Run(() => svc.StartAsync(new StartRequest
        {
            SpecYaml = BaselineDemoTests.SpecFor("istio").Replace("    - setWeight: 10\n", "    - setWeight: 10\n    - pause: {}\n", StringComparison.Ordinal),
        }, wait: true));
        Assert.Equal(RolloutPhase.Paused, started.Phase);
        var writes = env.Cluster.Writes.Count;
        var plan = await svc.PlanAsync(new SetWeightOperation("shop", "shop", 30));
        Assert.Equal(writes, env.Cluster.Writes.Count);
        Assert.Contains("stable 40% / canary 30% / baseline 30% (subset 'baseline')", Assert.Single(plan).Description);
    }

    private static RolloutSpec Parse(string yaml) => RolloutSpecParser.Parse(yaml, "spec.yaml").Spec ?? throw new InvalidOperationException("invalid spec");

    [Fact]
    public void Destination_rule_patch_rights_are_asked_for_only_with_a_created_baseline()
    {
        var withBaseline = Parse(BaselineDemoTests.SpecFor("istio"));
        var without = Parse(SandboxDemoTests.SpecFor("istio"));
        IEnumerable<string> DrVerbs(RolloutSpec s) => StartPreflight.Permissions(s, RolloutFootprint.For(s), true)
            .Where(p => p.Resource == "destinationrules").Select(p => p.Verb);
        Assert.Equal(["get", "patch"], DrVerbs(withBaseline));
        Assert.Equal(["get"], DrVerbs(without));
    }

    [Theory]
    [InlineData("basicAuth: { username: kubestead, password: { secret: { name: prometheus-auth, key: password } } }", true)]
    [InlineData("bearerToken: { secret: { name: prometheus-token, key: token } }", true)]
    [InlineData("basicAuth: { username: kubestead, password: { file: /var/run/secrets/prometheus/password } }", false)]
    public void Get_on_secrets_is_asked_for_only_when_a_credential_is_read_from_a_secret(string auth, bool needsSecrets)
    {
        var yaml = File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "istio.yaml"))
            .Replace("            builtin: istio\n", $"            builtin: istio\n            {auth}\n");
        Assert.Contains(auth, yaml);
        var spec = Parse(yaml);
        var secrets = StartPreflight.Permissions(spec, RolloutFootprint.For(spec), true).Where(p => p.Resource == "secrets").ToList();
        Assert.Equal(needsSecrets ? [("", "secrets", "get")] : [], secrets);
    }

    [Fact]
    public void The_created_objects_of_a_baseline_are_in_the_footprint_abort_and_undo_look_for()
    {
        var smi = RolloutFootprint.For(Parse(BaselineDemoTests.SpecFor("smi")));
        Assert.Contains(smi.Creates, c => c.Ref.Type == ResourceType.Service && c.Ref.Name == "shop-baseline" && c.SpecField == "spec.baseline.create");
        foreach (var mesh in SandboxDemo.BaselineMeshes)
            Assert.Contains(RolloutFootprint.For(Parse(BaselineDemoTests.SpecFor(mesh))).Creates,
                c => c.Ref.Type == ResourceType.Deployment && c.Ref.Name == "shop-baseline");
    }

    [Theory]
    [InlineData("nginx", "ingress-nginx splits a host between the stable Ingress and ONE canary Ingress")]
    [InlineData("linkerd1", "Kubestead's Linkerd 1.x router writes a two-way namerd dtab")]
    public async Task A_baseline_on_a_mesh_that_cannot_route_one_is_refused_at_start_and_nothing_is_written(string mesh, string why)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var spec = SandboxDemoTests.SpecFor(mesh).Replace("\n  stable:\n", "\n  baseline:\n    create: true\n  stable:\n", StringComparison.Ordinal);
        Assert.Contains("create: true", spec);
        var writes = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false)));
        Assert.Contains("spec.baseline.create", e.Message);
        Assert.Contains(why, e.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task A_weight_over_50_with_a_baseline_is_refused_at_start_and_nothing_is_written()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = BaselineDemoTests.SpecFor("istio").Replace("    - setWeight: 50\n", "    - setWeight: 60\n", StringComparison.Ordinal);
        Assert.Contains("setWeight: 60", spec);
        var writes = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false)));
        Assert.Contains("spec.steps[5].setWeight: 60 is more than 50", e.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }
}

/// <summary>GitOps settings for a created baseline on Istio: a sync must not remove the subset while the rollout runs.</summary>
public class BaselineGitOpsTests
{
    [Fact]
    public async Task The_gitops_settings_of_an_istio_baseline_also_cover_the_baseline_subset()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = BaselineDemoTests.SpecFor("istio") }, wait: false));

        var g = await svc.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name);

        Assert.Contains("    kind: DestinationRule\n    name: shop\n    namespace: shop\n    jqPathExpressions:\n      - '.spec.subsets[] | select(.name == \"baseline\")'", g.ArgoCdIgnoreDifferences);
        Assert.Contains("target: { group: networking.istio.io, kind: DestinationRule, name: shop, namespace: shop }", g.FluxGuidance);
        // Every weight pointer resolves on the live VirtualService, the baseline destination's included.
        Assert.Contains("/spec/http/0/route/2/weight", g.ManagedFields);

        var plain = SandboxEnvironment.Create("istio", "healthy");
        await using var plainSvc = plain.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => plainSvc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        Assert.DoesNotContain("DestinationRule", (await plainSvc.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name)).ArgoCdIgnoreDifferences);
    }
}
