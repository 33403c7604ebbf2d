using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Traffic;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// meshProvider nginx on the real kube-apiserver: the canary Ingress Kubestead builds passes the server's Ingress
/// validation, its annotations are patched one write at a time, drift and a stale resourceVersion are caught, clean-up
/// deletes it, and the stable Ingress (a production-shaped golden object) is never written.
/// </summary>
public class NginxRealClusterTests
{
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };

    private static (ResourceType, JsonObject)[] Objects()
    {
        var service = MeshFixtures.Service("checkout", 80, ("app", "checkout"), ("version", "stable"));
        service["spec"]!["ports"]!.AsArray().Add(new JsonObject { ["name"] = "api", ["port"] = 8080, ["targetPort"] = 8080, ["protocol"] = "TCP" });
        return
        [
            (ResourceType.Deployment, MeshFixtures.Deployment("checkout", "checkout", 2)),
            (ResourceType.Service, service),
            (ResourceType.Ingress, MeshFixtures.Golden("ingress-real-world.json")),
        ];
    }

    private static NginxRouter Router(IKubernetesApi api, string ns) =>
        new(api, new NginxRouterOptions(ns, "checkout", "checkout", "checkout-canary", CanaryLabels, "storefront", "storefront-canary", 1000));

    private static string? Annotation(JsonObject o, string key) => o["metadata"]?["annotations"]?[key]?.GetValue<string>();

    [RealClusterFact]
    public async Task The_canary_Ingress_is_created_patched_and_deleted_on_the_real_server_and_the_stable_one_never_changes()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nginx");
        await env.SeedAsync(Objects());
        var stableBefore = await env.GetAsync(ResourceType.Ingress, "storefront");
        var api = await RealCluster.ConnectAsync(RealCluster.Admin, env.Namespace);
        var router = Router(api, env.Namespace);

        await router.ValidateAsync();
        await router.PrepareAsync();
        await router.PrepareAsync();
        var created = await env.GetAsync(ResourceType.Ingress, "storefront-canary");
        var golden = MeshFixtures.Golden("ingress-canary-created.json");
        golden["metadata"]!["namespace"] = env.Namespace;
        Assert.Empty(ObjectDiff.Unexpected(golden, created, "^/status(/.*)?$", "^/metadata/(uid|creationTimestamp)$"));

        var split = await router.SetCanaryWeightAsync(0.5);
        Assert.Equal(0.5, split.CanaryPercent, 9);
        var weighted = await env.GetAsync(ResourceType.Ingress, "storefront-canary");
        Assert.Equal(["/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight"], ObjectDiff.Unexpected(created, weighted));
        Assert.Equal("5", Annotation(weighted, NginxAnnotations.Weight));

        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        await router.SetHeaderRouteAsync(new HeaderRoute("beta", [new HeaderMatch("beta_user", "always", HeaderMatchKind.Cookie)]));
        var routed = await env.GetAsync(ResourceType.Ingress, "storefront-canary");
        Assert.Equal("x-canary", Annotation(routed, NginxAnnotations.ByHeader));
        Assert.Equal("true", Annotation(routed, NginxAnnotations.ByHeaderValue));
        Assert.Equal("beta_user", Annotation(routed, NginxAnnotations.ByCookie));
        await router.RemoveHeaderRouteAsync("testers");
        Assert.Null(Annotation(await env.GetAsync(ResourceType.Ingress, "storefront-canary"), NginxAnnotations.ByHeader));

        await router.CleanupAsync();
        await router.CleanupAsync();
        var gone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Ingress, "storefront-canary"));
        Assert.True(gone.IsNotFound);
        var svcGone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Service, "checkout-canary"));
        Assert.True(svcGone.IsNotFound);
        Assert.Empty(ObjectDiff.Unexpected(stableBefore, await env.GetAsync(ResourceType.Ingress, "storefront")));
        Assert.Equal(stableBefore["metadata"]!["resourceVersion"]!.GetValue<string>(),
            (await env.GetAsync(ResourceType.Ingress, "storefront"))["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Drift_is_reported_per_annotation_and_a_patch_from_a_stale_read_is_refused_by_the_server()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nginx-drift");
        await env.SeedAsync(Objects());
        var api = await RealCluster.ConnectAsync(RealCluster.Admin, env.Namespace);
        var router = Router(api, env.Namespace);
        await router.PrepareAsync();
        var written = await router.SetCanaryWeightAsync(10);
        Assert.Null(await router.DetectDriftAsync(written));
        var stale = await env.GetAsync(ResourceType.Ingress, "storefront-canary");

        // A colleague edits the canary weight by hand.
        await env.Admin.PatchAsync(ResourceType.Ingress, env.Namespace, "storefront-canary", new MergePatch(JsonNode.Parse("""
            {"metadata":{"annotations":{"nginx.ingress.kubernetes.io/canary-weight":"250"}}}
            """)!));
        var drift = await router.DetectDriftAsync(written);
        var field = Assert.Single(drift!.Fields);
        Assert.Equal("/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight", field.Path);
        Assert.Equal(("100", "250"), (field.Expected, field.Actual));

        // A weight patch built before that edit pins the old resourceVersion: the server refuses it and nothing changes.
        var current = await env.GetAsync(ResourceType.Ingress, "storefront-canary");
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() =>
            api.PatchAsync(ResourceType.Ingress, env.Namespace, "storefront-canary", router.BuildWeightPatch(stale, 20)));
        Assert.Equal(422, e.StatusCode);
        Assert.Empty(ObjectDiff.Unexpected(current, await env.GetAsync(ResourceType.Ingress, "storefront-canary")));

        // Re-asserting from a fresh read wins and leaves no drift.
        await router.SetCanaryWeightAsync(10);
        Assert.Null(await router.DetectDriftAsync(written));
        await router.CleanupAsync();
    }

    [RealClusterFact]
    public async Task A_rollout_completes_and_leaves_only_the_promoted_stable_behind()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nginx-run");
        await env.SeedAsync(Objects());
        var ingressBefore = await env.GetAsync(ResourceType.Ingress, "storefront");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var result = await service.StartAsync(new StartRequest { SpecYaml = Spec(env.Namespace) }, wait: true);

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(result.History, h => h.CanaryWeight == 20);
        Assert.Contains(result.History, h => h.CanaryWeight == 60);
        Assert.Empty(ObjectDiff.Unexpected(ingressBefore, await env.GetAsync(ResourceType.Ingress, "storefront")));
        var canaryGone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Ingress, "storefront-canary"));
        Assert.True(canaryGone.IsNotFound);
        Assert.Equal(MeshFixtures.CanaryImage,
            (await env.GetAsync(ResourceType.Deployment, "checkout"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Abort_mid_rollout_deletes_the_canary_Ingress_and_Service_and_leaves_stable_as_it_was()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nginx-abort");
        await env.SeedAsync(Objects());
        var ingressBefore = await env.GetAsync(ResourceType.Ingress, "storefront");
        var deploymentBefore = await env.GetAsync(ResourceType.Deployment, "checkout");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = Spec(env.Namespace).Replace("- pause: { duration: 1m }\n    - setWeight: 60", "- pause: {}\n    - setWeight: 60");

        var started = await service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);
        Assert.Equal(RolloutPhase.Paused, started.Phase);
        Assert.Equal("200", Annotation(await env.GetAsync(ResourceType.Ingress, "storefront-canary"), NginxAnnotations.Weight));

        var aborted = await service.AbortAsync(env.Namespace, "checkout");

        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.True((await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Ingress, "storefront-canary"))).IsNotFound);
        Assert.True((await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Service, "checkout-canary"))).IsNotFound);
        Assert.Empty(ObjectDiff.Unexpected(ingressBefore, await env.GetAsync(ResourceType.Ingress, "storefront")));
        Assert.Empty(ObjectDiff.Unexpected(deploymentBefore, await env.GetAsync(ResourceType.Deployment, "checkout"), "^/status(/.*)?$"));
    }

    [RealClusterFact]
    public async Task Without_the_right_to_create_Ingresses_the_start_is_refused_before_any_write()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("nginx-rbac");
        await env.SeedAsync(Objects());
        var limited = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(), context: RealCluster.Limited);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => limited.StartAsync(new StartRequest { SpecYaml = Spec(env.Namespace) }, wait: false));

        Assert.Contains("create ingresses.networking.k8s.io", e.Message);
        var none = await env.Admin.ListAsync(ResourceType.Ingress, env.Namespace);
        Assert.Equal(["storefront"], none.Items.Select(i => i["metadata"]!["name"]!.GetValue<string>()));
    }

    private static string Spec(string ns) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: checkout, namespace: {ns} {"}"}
        spec:
          service: checkout
          meshProvider: nginx
          nginx: {"{"} ingress: storefront, canaryIngress: storefront-canary, canaryService: checkout-canary, weightTotal: 1000 {"}"}
          stable: {"{"} deployment: checkout {"}"}
          canary: {"{"} image: {MeshFixtures.CanaryImage}, container: app {"}"}
        {MeshFixtures.Steps}
        """;
}
