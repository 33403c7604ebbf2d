using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Issue #13's routing features end to end on the real kube-apiserver.</summary>
public class RouteFeatureRolloutTests
{
    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task Linkerd_route_whose_parent_is_not_the_stable_backend_rolls_out_and_is_left_as_found(string apiGroup)
    {
        var routeType = MeshFixtures.RouteType(apiGroup);
        await using var env = await RealRolloutEnvironment.CreateAsync("parent");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(routeType));
        var routeBefore = await env.GetAsync(routeType, "checkout-service");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = RouteFeatureFixtures.ParentDiffersSpec(env.Namespace, apiGroup);

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.True(check.IsValid, string.Join("\n", check.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));

        var result = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.Empty(ObjectDiff.Unexpected(routeBefore, await env.GetAsync(routeType, "checkout-service")));
        var canaryService = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Service, "checkout-service-canary"));
        Assert.True(canaryService.IsNotFound);
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "checkout"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Without_stableService_validate_cluster_names_the_field_to_set()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("parent-bad");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(MeshFixtures.GatewayRoute));
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = RouteFeatureFixtures.ParentDiffersSpec(env.Namespace, "gateway.networking.k8s.io").Replace(", stableService: checkout-service-stable", "");

        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);

        Assert.False(check.IsValid);
        Assert.Contains(check.Checks, c => c.Outcome == CheckOutcome.Failed && c.Message.Contains("spec.linkerd.stableService", StringComparison.Ordinal));
    }

    [RealClusterFact]
    public async Task Istio_cookie_route_is_accepted_by_the_server_and_removed_without_a_trace()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("cookie-istio");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var before = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var paused = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, RouteFeatureFixtures.CookieSteps) }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        var during = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var cookieRoute = during["spec"]!["http"]!.AsArray().Single(r => r!["name"]?.GetValue<string>() == "kubestead-reviews-beta-users")!;
        Assert.Equal(RouteFeatureFixtures.CookieRegex, cookieRoute["match"]![0]!["headers"]!["cookie"]!["regex"]!.GetValue<string>());
        Assert.Equal("canary", cookieRoute["route"]![0]!["destination"]!["subset"]!.GetValue<string>());

        var done = await service.ResumeAsync(env.Namespace, "reviews", wait: true);
        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Empty(ObjectDiff.Unexpected(before, await env.GetAsync(MeshFixtures.VirtualService, "reviews")));
    }

    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task HTTPRoute_cookie_route_is_accepted_by_the_server_in_both_groups(string apiGroup)
    {
        var routeType = MeshFixtures.RouteType(apiGroup);
        await using var env = await RealRolloutEnvironment.CreateAsync("cookie-route");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(routeType));
        var before = await env.GetAsync(routeType, "checkout-service");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var paused = await service.StartAsync(new StartRequest
        {
            SpecYaml = RouteFeatureFixtures.ParentDiffersSpec(env.Namespace, apiGroup, RouteFeatureFixtures.CookieSteps),
        }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        var rules = (await env.GetAsync(routeType, "checkout-service"))["spec"]!["rules"]!.AsArray();
        var cookieRule = rules.Single(r => r!["matches"]?[0]?["headers"] is not null)!;
        var header = cookieRule["matches"]![0]!["headers"]![0]!;
        Assert.Equal(("cookie", "RegularExpression"), (header["name"]!.GetValue<string>(), header["type"]!.GetValue<string>()));
        Assert.Equal(RouteFeatureFixtures.CookieRegex, header["value"]!.GetValue<string>());
        Assert.Equal("checkout-service-canary", cookieRule["backendRefs"]![0]!["name"]!.GetValue<string>());

        var done = await service.ResumeAsync(env.Namespace, "checkout", wait: true);
        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Empty(ObjectDiff.Unexpected(before, await env.GetAsync(routeType, "checkout-service")));
    }

    [RealClusterTheory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task A_created_baseline_gets_the_canarys_share_and_is_removed_at_the_end(string apiGroup)
    {
        var routeType = MeshFixtures.RouteType(apiGroup);
        await using var env = await RealRolloutEnvironment.CreateAsync("baseline");
        await env.SeedAsync(RouteFeatureFixtures.ParentDiffersObjects(routeType));
        var routeBefore = await env.GetAsync(routeType, "checkout-service");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = RouteFeatureFixtures.BaselineSpec(env.Namespace, apiGroup);
        var check = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        Assert.True(check.IsValid, string.Join("\n", check.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));

        var paused = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);

        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        Assert.Equal((60, 20, 20), (paused.StableWeight, paused.CanaryWeight, paused.BaselineWeight));
        var refs = (await env.GetAsync(routeType, "checkout-service"))["spec"]!["rules"]![0]!["backendRefs"]!.AsArray();
        Assert.Equal(["checkout-service-stable:60", "checkout-service-canary:20", "checkout-service-baseline:20"],
            refs.Select(r => $"{r!["name"]}:{r["weight"]}"));
        var baseline = await env.GetAsync(ResourceType.Deployment, "checkout-baseline");
        Assert.Equal("registry.example.com/app:1.0.0", baseline["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("baseline", baseline["spec"]!["selector"]!["matchLabels"]!["version"]!.GetValue<string>());
        var canary = await env.GetAsync(ResourceType.Deployment, "checkout-canary");
        Assert.Equal(canary["spec"]!["replicas"]!.GetValue<int>(), baseline["spec"]!["replicas"]!.GetValue<int>());
        var baselineService = await env.GetAsync(ResourceType.Service, "checkout-service-baseline");
        Assert.Equal("baseline", baselineService["spec"]!["selector"]!["version"]!.GetValue<string>());

        var done = await service.ResumeAsync(env.Namespace, "checkout", wait: true);

        Assert.Equal(RolloutPhase.Completed, done.Phase);
        Assert.Contains(done.History, h => h.CanaryWeight == 50);
        Assert.Empty(ObjectDiff.Unexpected(routeBefore, await env.GetAsync(routeType, "checkout-service")));
        foreach (var (type, name) in new[] { (ResourceType.Deployment, "checkout-baseline"), (ResourceType.Service, "checkout-service-baseline"), (ResourceType.Deployment, "checkout-canary") })
        {
            var gone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(type, name));
            Assert.True(gone.IsNotFound, $"{name} is left");
        }
    }
}
