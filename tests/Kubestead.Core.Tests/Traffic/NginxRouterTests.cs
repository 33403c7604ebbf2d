using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

public class NginxRouterTests
{
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };
    private static readonly string[] ServerFields = ["/metadata/uid", "/metadata/resourceVersion", "/metadata/generation", "/metadata/creationTimestamp"];

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    private static EmulatedCluster Cluster(string? stableJson = null)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout","namespace":"store"},"spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":80,"targetPort":8080},{"name":"api","port":8080,"targetPort":8080}]}}
            """)!.AsObject());
        cluster.Seed(ResourceType.Ingress, JsonNode.Parse(stableJson ?? Golden("ingress-real-world.json"))!.AsObject());
        return cluster;
    }

    private static NginxRouter Router(EmulatedCluster c, int total = 1000, string? canaryIngress = "storefront-canary", string rollout = "checkout") =>
        new(c, new NginxRouterOptions("store", rollout, "checkout", "checkout-canary", CanaryLabels, "storefront", canaryIngress, total));

    private static JsonObject Stable(EmulatedCluster c) => c.Peek(ResourceType.Ingress, "store", "storefront")!;
    private static JsonObject? Canary(EmulatedCluster c) => c.Peek(ResourceType.Ingress, "store", "storefront-canary");
    private static string? Annotation(JsonObject o, string key) => o["metadata"]?["annotations"]?[key]?.GetValue<string>();

    private static JsonObject ForeignCanary(string name, string host, string path) => JsonNode.Parse("""
        {"metadata":{"name":"NAME","namespace":"store","annotations":{"nginx.ingress.kubernetes.io/canary":"true","nginx.ingress.kubernetes.io/canary-weight":"10"}},
         "spec":{"rules":[{"host":"HOST","http":{"paths":[{"path":"PATH","pathType":"Prefix","backend":{"service":{"name":"checkout-v3","port":{"number":80}}}}]}}]}}
        """.Replace("NAME", name).Replace("HOST", host).Replace("PATH", path))!.AsObject();

    [Fact]
    public async Task Prepare_creates_the_canary_Ingress_from_the_stable_one_and_never_writes_the_stable_one()
    {
        var cluster = Cluster();
        var stableBefore = Stable(cluster).ToJsonString();
        var router = Router(cluster);
        await router.ValidateAsync();
        await router.PrepareAsync();
        await router.PrepareAsync(); // idempotent

        var created = Canary(cluster)!;
        var unexpected = JsonDiff.Changed(JsonNode.Parse(Golden("ingress-canary-created.json")), created).Where(p => !ServerFields.Contains(p)).ToList();
        Assert.Empty(unexpected);
        Assert.Equal(stableBefore, Stable(cluster).ToJsonString());
        Assert.Equal("canary", cluster.Peek(ResourceType.Service, "store", "checkout-canary")!["spec"]!["selector"]!["version"]!.GetValue<string>());
        Assert.DoesNotContain(cluster.Writes, w => w.Contains("ingresses/storefront ", StringComparison.Ordinal) || w.EndsWith("ingresses/storefront", StringComparison.Ordinal));
        var split = await router.GetSplitAsync();
        Assert.Equal(0, split.CanaryPercent);
    }

    [Fact]
    public async Task A_weight_change_is_one_write_of_the_weight_annotation_only_and_the_total_sets_the_precision()
    {
        var cluster = Cluster();
        var router = Router(cluster, total: 1000);
        await router.PrepareAsync();
        var before = Canary(cluster)!;
        var writes = cluster.Writes.Count;

        var split = await router.SetCanaryWeightAsync(0.5);

        Assert.Equal(1, cluster.Writes.Count - writes);
        Assert.Equal(0.5, split.CanaryPercent, 9);
        Assert.Equal(99.5, split.StablePercent, 9);
        var after = Canary(cluster)!;
        Assert.Equal(["/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight"], JsonDiff.ChangedSpec(before, after));
        Assert.Equal("5", Annotation(after, NginxAnnotations.Weight));
        var precision = await router.GetPrecisionAsync();
        Assert.Equal(0.1, precision.StepPercent, 9);
        Assert.Equal(1, (await Router(cluster, total: 100).GetPrecisionAsync()).MinCanaryPercent, 9);
    }

    [Theory]
    [InlineData(100, 0.5)]
    [InlineData(1000, 0.05)]
    [InlineData(1000, 101)]
    public async Task A_share_the_total_cannot_express_is_refused_without_a_write(int total, double percent)
    {
        var cluster = Cluster();
        var router = Router(cluster, total);
        await router.PrepareAsync();
        var writes = cluster.Writes.Count;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.SetCanaryWeightAsync(percent));
        Assert.Contains(percent > 100 ? "WeightOutOfRange" : "WeightNotAchievable", e.ErrorId);
        if (percent <= 100) Assert.Contains("spec.nginx.weightTotal", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task A_missing_stable_Ingress_is_named_by_its_spec_field()
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""{"metadata":{"name":"checkout","namespace":"store"},"spec":{"selector":{"app":"checkout"},"ports":[{"port":80}]}}""")!.AsObject());
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.StartsWith("spec.nginx.ingress: ingresses.networking.k8s.io/storefront in namespace store does not exist", e.Message);
        Assert.Empty(cluster.Writes);
    }

    [Fact]
    public async Task A_stable_Ingress_that_does_not_send_to_the_service_is_refused_with_its_backends()
    {
        var other = Golden("ingress-real-world.json").Replace("\"checkout\"", "\"payments\"");
        var cluster = Cluster(other);
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.Equal("NginxIngressWrongService", e.ErrorId);
        Assert.Contains("spec.nginx.ingress", e.Message);
        Assert.Contains("Service 'checkout' (spec.service)", e.Message);
        Assert.Contains("payments, static-assets, admin", e.Message);
        await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).PrepareAsync());
        Assert.Null(Canary(cluster));
    }

    [Fact]
    public async Task A_stable_Ingress_that_is_itself_a_canary_is_refused()
    {
        var json = JsonNode.Parse(Golden("ingress-real-world.json"))!.AsObject();
        json["metadata"]!["annotations"]![NginxAnnotations.Canary] = "true";
        var cluster = Cluster(json.ToJsonString());
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.Equal("NginxStableIngressIsCanary", e.ErrorId);
    }

    [Fact]
    public async Task Another_canary_Ingress_for_the_same_host_and_path_is_refused_naming_it()
    {
        var cluster = Cluster();
        cluster.Seed(ResourceType.Ingress, ForeignCanary("storefront-experiment", "www.shop.example.com", "/"));
        // A canary of another host does not conflict.
        cluster.Seed(ResourceType.Ingress, ForeignCanary("admin-canary", "admin.shop.example.com", "/"));
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(cluster).ValidateAsync());
        Assert.Equal("NginxCanaryIngressConflict", e.ErrorId);
        Assert.Contains("storefront-experiment", e.Message);
        Assert.Contains("www.shop.example.com/", e.Message);
        Assert.Empty(cluster.Writes);
    }

    [Fact]
    public async Task A_foreign_Ingress_under_the_canary_name_is_refused_and_left_alone_at_cleanup()
    {
        var cluster = Cluster();
        cluster.Seed(ResourceType.Ingress, ForeignCanary("storefront-canary", "shop.example.com", "/"));
        var router = Router(cluster);
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.ValidateAsync());
        Assert.Equal("NginxCanaryIngressNotOurs", e.ErrorId);
        Assert.Contains("spec.nginx.canaryIngress", e.Message);
        await Assert.ThrowsAsync<TrafficRoutingException>(() => router.PrepareAsync());
        await Assert.ThrowsAsync<TrafficRoutingException>(() => router.SetCanaryWeightAsync(10));
        await router.CleanupAsync();
        Assert.Equal("10", Annotation(Canary(cluster)!, NginxAnnotations.Weight));
    }

    [Fact]
    public async Task Header_routes_map_to_canary_by_header_and_a_cookie_to_canary_by_cookie_on_the_same_Ingress()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(10);

        await router.SetHeaderRouteAsync(new HeaderRoute("testers", [new HeaderMatch("x-canary", "true")]));
        await router.SetHeaderRouteAsync(new HeaderRoute("testers", [new HeaderMatch("x-canary", "true")])); // idempotent
        await router.SetHeaderRouteAsync(new HeaderRoute("beta", [new HeaderMatch("beta_user", "always", HeaderMatchKind.Cookie)]));
        var c = Canary(cluster)!;
        Assert.Equal("x-canary", Annotation(c, NginxAnnotations.ByHeader));
        Assert.Equal("true", Annotation(c, NginxAnnotations.ByHeaderValue));
        Assert.Null(Annotation(c, NginxAnnotations.ByHeaderPattern));
        Assert.Equal("beta_user", Annotation(c, NginxAnnotations.ByCookie));
        Assert.Equal("100", Annotation(c, NginxAnnotations.Weight)); // 10% of 1000: the weight is untouched

        // One canary-by-header per canary Ingress: a second header route is refused, naming the first.
        var taken = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("mobile", [new HeaderMatch("x-client", "ios")])));
        Assert.Equal("NginxHeaderRouteTaken", taken.ErrorId);
        Assert.Contains("'testers'", taken.Message);

        await router.RemoveHeaderRouteAsync("testers");
        c = Canary(cluster)!;
        Assert.Null(Annotation(c, NginxAnnotations.ByHeader));
        Assert.Null(Annotation(c, NginxAnnotations.ByHeaderValue));
        Assert.Equal("beta_user", Annotation(c, NginxAnnotations.ByCookie));

        await router.SetHeaderRouteAsync(new HeaderRoute("mobile", [new HeaderMatch("x-client", "ios", HeaderMatchKind.Prefix)]));
        Assert.Equal("^ios", Annotation(Canary(cluster)!, NginxAnnotations.ByHeaderPattern));
        await router.RemoveHeaderRouteAsync("mobile");
        await router.SetHeaderRouteAsync(new HeaderRoute("re", [new HeaderMatch("x-client", "^(ios|android)$", HeaderMatchKind.Regex)]));
        Assert.Equal("^(ios|android)$", Annotation(Canary(cluster)!, NginxAnnotations.ByHeaderPattern));
        await router.RemoveHeaderRouteAsync("beta");
        Assert.Null(Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));
    }

    [Fact]
    public async Task A_cookie_route_needs_the_value_always_and_two_matches_are_refused()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var writes = cluster.Writes.Count;
        var cookie = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("beta", [new HeaderMatch("beta_user", "yes", HeaderMatchKind.Cookie)])));
        Assert.Equal("NginxCookieValue", cookie.ErrorId);
        var two = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("two", [new HeaderMatch("a", "1"), new HeaderMatch("b", "2")])));
        Assert.Equal("NginxHeaderRouteShape", two.ErrorId);
        Assert.Equal(writes, cluster.Writes.Count);
    }

    /// <summary>Issue #13: the cookie match of `header-route set --cookie` / Set-CanaryHeaderRoute -CookieName (a CookieMatch).</summary>
    [Fact]
    public async Task A_cookie_match_becomes_canary_by_cookie_and_a_cookie_regex_or_other_value_is_refused_writing_nothing()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var writes = cluster.Writes.Count;
        var regex = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("beta", [], new CookieMatch("beta_user", "yes|always", IsRegex: true))));
        Assert.Equal("NginxCookieRegex", regex.ErrorId);
        Assert.Contains("cookie beta_user matching yes|always", regex.Message);
        var value = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("beta", [], new CookieMatch("beta_user", "yes"))));
        Assert.Equal("NginxCookieValue", value.ErrorId);
        var both = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("both", [new HeaderMatch("x-canary", "true")], new CookieMatch("beta_user", "always"))));
        Assert.Equal("NginxHeaderRouteShape", both.ErrorId);
        Assert.Equal(writes, cluster.Writes.Count);

        await router.SetHeaderRouteAsync(new HeaderRoute("beta", [], new CookieMatch("beta_user", "always")));
        Assert.Equal("beta_user", Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));
        Assert.Null(Annotation(Canary(cluster)!, NginxAnnotations.ByHeader));
        await router.RemoveHeaderRouteAsync("beta");
        Assert.Null(Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));
    }

    [Fact]
    public async Task Drift_on_the_canary_annotations_is_reported_per_field_and_a_reassert_restores_them()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var written = await router.SetCanaryWeightAsync(10);
        Assert.Null(await router.DetectDriftAsync(written));

        var c = Canary(cluster)!;
        await cluster.PatchAsync(ResourceType.Ingress, "store", "storefront-canary", new MergePatch(JsonNode.Parse("""
            {"metadata":{"annotations":{"nginx.ingress.kubernetes.io/canary-weight":"500","nginx.ingress.kubernetes.io/canary":"false"}}}
            """)!));
        var drift = await router.DetectDriftAsync(written);
        Assert.NotNull(drift);
        Assert.Contains(drift.Fields, f => f.Path == "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight" && f.Expected == "100" && f.Actual == "500");
        Assert.Contains(drift.Fields, f => f.Path == "/metadata/annotations/nginx.ingress.kubernetes.io~1canary" && f.Actual == "false");
        Assert.Equal(0, (await router.GetSplitAsync()).CanaryPercent); // not a canary any more: ingress-nginx splits nothing

        await router.SetCanaryWeightAsync(10);
        Assert.Null(await router.DetectDriftAsync(written));
        Assert.NotNull(c);
    }

    [Fact]
    public async Task A_weight_patch_built_from_a_stale_read_fails_and_changes_nothing()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var stale = Canary(cluster)!;
        await cluster.PatchAsync(ResourceType.Ingress, "store", "storefront-canary", new MergePatch(JsonNode.Parse("""{"metadata":{"labels":{"team":"web"}}}""")!));
        var current = Canary(cluster)!.ToJsonString();
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() =>
            cluster.PatchAsync(ResourceType.Ingress, "store", "storefront-canary", router.BuildWeightPatch(stale, 20)));
        Assert.Equal(422, e.StatusCode);
        Assert.Equal(current, Canary(cluster)!.ToJsonString());
    }

    [Fact]
    public async Task The_dry_run_plans_the_create_and_then_the_patch_and_writes_nothing()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        var plan = await router.PlanSetCanaryWeightAsync(0.5);
        var create = Assert.Single(plan);
        Assert.Equal("create", create.Verb);
        Assert.Equal("storefront-canary", create.Target.Name);
        Assert.Empty(JsonDiff.Changed(JsonNode.Parse(Golden("ingress-canary-created.json")), create.Body));
        Assert.Empty(cluster.Writes);

        await router.PrepareAsync();
        var writes = cluster.Writes.Count;
        var patch = Assert.Single(await router.PlanSetCanaryWeightAsync(0.5));
        Assert.Equal("patch", patch.Verb);
        Assert.Contains("\"5\"", patch.Body!.ToJsonString());
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task Cleanup_deletes_the_canary_Ingress_and_Service_it_created_and_is_idempotent()
    {
        var cluster = Cluster();
        var stableBefore = Stable(cluster).ToJsonString();
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(50);
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        await router.CleanupAsync();
        await router.CleanupAsync();
        Assert.Null(Canary(cluster));
        Assert.Null(cluster.Peek(ResourceType.Service, "store", "checkout-canary"));
        Assert.Equal(stableBefore, Stable(cluster).ToJsonString());
    }

    [Fact]
    public async Task Interrupted_writes_converge_when_repeated()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        // The create lands but its answer is lost: preparing again finds its own canary Ingress.
        cluster.InjectFault("CREATE", "ingresses", "storefront-canary", afterApply: true);
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.PrepareAsync());
        await router.PrepareAsync();
        Assert.Single(cluster.PeekAll(ResourceType.Ingress, "store"), i => NginxAnnotations.IsCanary(i));

        // A weight write whose answer was lost: repeating it from a fresh read ends at the same weight.
        cluster.InjectFault("PATCH", "ingresses", "storefront-canary", afterApply: true);
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.SetCanaryWeightAsync(20));
        Assert.Equal(20, (await router.SetCanaryWeightAsync(20)).CanaryPercent, 9);

        // A weight write that never landed leaves the earlier weight in place.
        cluster.InjectFault("PATCH", "ingresses", "storefront-canary");
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.SetCanaryWeightAsync(30));
        Assert.Equal(20, (await router.GetSplitAsync()).CanaryPercent, 9);

        // A delete whose answer was lost: cleaning up again finishes.
        cluster.InjectFault("DELETE", "ingresses", "storefront-canary", afterApply: true);
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.CleanupAsync());
        await router.CleanupAsync();
        Assert.Null(Canary(cluster));
        Assert.Null(cluster.Peek(ResourceType.Service, "store", "checkout-canary"));
    }

    [Fact]
    public async Task An_interrupted_cookie_route_write_converges_when_repeated()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var route = new HeaderRoute("beta", [], new CookieMatch("beta_user", "always"));

        // Never landed: nothing of the route is there, and repeating writes it once.
        cluster.InjectFault("PATCH", "ingresses", "storefront-canary");
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.SetHeaderRouteAsync(route));
        Assert.Null(Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));

        // Landed but the answer was lost: repeating finds its own route and writes nothing more.
        cluster.InjectFault("PATCH", "ingresses", "storefront-canary", afterApply: true);
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.SetHeaderRouteAsync(route));
        var writes = cluster.Writes.Count;
        await router.SetHeaderRouteAsync(route);
        Assert.Equal(writes, cluster.Writes.Count);
        Assert.Equal("beta_user", Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));

        // The removal's answer lost: removing again finishes, and the cookie annotation is gone.
        cluster.InjectFault("PATCH", "ingresses", "storefront-canary", afterApply: true);
        await Assert.ThrowsAsync<KubernetesApiException>(() => router.RemoveHeaderRouteAsync("beta"));
        await router.RemoveHeaderRouteAsync("beta");
        Assert.Null(Annotation(Canary(cluster)!, NginxAnnotations.ByCookie));
    }
}
