using System.Text.Json.Nodes;
using Kubestead.Core.Tests.Traffic.DataPlanes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// What ingress-nginx does with what the nginx router writes, decided by <see cref="NginxCanaryEvaluator"/> before and
/// after each write. The stable Ingress is shaped like ingress-nginx's canary docs example (a host, one Prefix path).
/// </summary>
public class NginxDataPlaneAgreementTests
{
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };

    private static EmulatedCluster Cluster()
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"production","namespace":"demo"},"spec":{"selector":{"app":"production"},"ports":[{"name":"http","port":80,"targetPort":80}]}}
            """)!.AsObject());
        cluster.Seed(ResourceType.Ingress, JsonNode.Parse("""
            {"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"production","namespace":"demo"},
             "spec":{"ingressClassName":"nginx","rules":[{"host":"echo.prod.mydomain.com","http":{"paths":[
               {"path":"/","pathType":"Prefix","backend":{"service":{"name":"production","port":{"number":80}}}}]}}]}}
            """)!.AsObject());
        return cluster;
    }

    private static NginxRouter Router(EmulatedCluster c, int total) =>
        new(c, new NginxRouterOptions("demo", "production", "production", "canary", CanaryLabels, "production", null, total));

    /// <summary>A cluster and a router that has written its canary Ingress (total 100, as the controller defaults).</summary>
    private static async Task<(EmulatedCluster Cluster, NginxRouter Router)> PreparedAsync()
    {
        var cluster = Cluster();
        var router = Router(cluster, 100);
        await router.PrepareAsync();
        return (cluster, router);
    }

    private static JsonObject Canary(EmulatedCluster c) => c.Peek(ResourceType.Ingress, "demo", "production-canary")!;

    [Theory]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(200)]
    public async Task Every_share_the_router_reports_is_the_share_the_controller_sends(int total)
    {
        var cluster = Cluster();
        var router = Router(cluster, total);
        await router.PrepareAsync();
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), NginxRequest.Plain));
        foreach (var percent in new[] { 1.0, 10, 50, 100, 0 })
        {
            var split = await router.SetCanaryWeightAsync(percent);
            Assert.Equal(percent / 100, NginxCanaryEvaluator.CanaryChance(Canary(cluster), NginxRequest.Plain), 9);
            Assert.Equal(percent, split.CanaryPercent, 9);
        }
    }

    [Theory]
    [InlineData(20)]
    [InlineData(99)]
    [InlineData(1)]
    public async Task A_weight_total_the_controller_ignores_is_refused_naming_the_field_and_nothing_is_written(int total)
    {
        var cluster = Cluster();
        var router = Router(cluster, total);
        var writes = cluster.Writes.Count;
        foreach (var attempt in new Func<Task>[] { () => router.ValidateAsync(), () => router.PrepareAsync(), () => router.SetCanaryWeightAsync(50), () => router.PlanSetCanaryWeightAsync(50) })
        {
            var e = await Assert.ThrowsAsync<TrafficRoutingException>(attempt);
            Assert.Equal("NginxWeightTotalIgnored", e.ErrorId);
            Assert.StartsWith("spec.nginx.weightTotal:", e.Message);
        }
        Assert.Equal(writes, cluster.Writes.Count);
    }

    [Fact]
    public async Task A_canary_Ingress_edited_to_a_small_total_is_read_as_the_controller_weighs_it()
    {
        var (cluster, router) = await PreparedAsync();
        await router.SetCanaryWeightAsync(10);
        await cluster.PatchAsync(ResourceType.Ingress, "demo", "production-canary",
            new JsonPatch([JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(NginxAnnotations.WeightTotal), "20")]));

        var split = await router.GetSplitAsync();

        Assert.Equal(0.10, NginxCanaryEvaluator.CanaryChance(Canary(cluster), NginxRequest.Plain), 9);
        Assert.Equal(10, split.CanaryPercent, 9);
        Assert.NotNull(await router.DetectDriftAsync(split)); // the total itself is still drift from what was written
    }

    [Theory]
    [InlineData("x-user", "alice@example.com", HeaderMatchKind.Exact, "alice@example.com")]
    [InlineData("x-canary", "beta=1", HeaderMatchKind.Exact, "beta=1")]
    [InlineData("x-canary", "true", HeaderMatchKind.Exact, "true")]
    [InlineData("x-canary", "two words", HeaderMatchKind.Exact, "two words")]
    [InlineData("user-agent", "Mozilla/5.0 (iPhone", HeaderMatchKind.Prefix, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)")]
    [InlineData("x-build", "v#1", HeaderMatchKind.Prefix, "v#1.2")]
    [InlineData("x-client", "^(ios|android)$", HeaderMatchKind.Regex, "android")]
    public async Task A_header_route_sends_its_testers_to_the_canary_and_nobody_else(string header, string value, HeaderMatchKind kind, string sent)
    {
        var (cluster, router) = await PreparedAsync();
        await router.SetCanaryWeightAsync(0);
        var tester = NginxRequest.WithHeader(header, sent);
        var always = NginxRequest.WithHeader(header, "always");
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), tester));

        await router.SetHeaderRouteAsync(new HeaderRoute("testers", [new HeaderMatch(header, value, kind)]));

        Assert.Equal(1, NginxCanaryEvaluator.CanaryChance(Canary(cluster), tester));
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), always));
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), NginxRequest.WithHeader(header, "x" + sent)));
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), NginxRequest.Plain));

        await router.RemoveHeaderRouteAsync("testers");
        Assert.Equal(0, NginxCanaryEvaluator.CanaryChance(Canary(cluster), tester));
    }

    [Theory]
    [InlineData("x-user@corp", "alice", HeaderMatchKind.Exact, "headerName")]
    [InlineData("x canary", "true", HeaderMatchKind.Exact, "headerName")]
    [InlineData("x-client", "^ios #1$", HeaderMatchKind.Regex, "headerValue.regex")]
    [InlineData("x-client", "caf\u00e9", HeaderMatchKind.Exact, "headerValue.exact")]
    [InlineData("beta user", "always", HeaderMatchKind.Cookie, "cookie.name")]
    public async Task A_header_the_controller_would_drop_is_refused_naming_the_field_and_nothing_is_written(string header, string value, HeaderMatchKind kind, string field)
    {
        var (cluster, router) = await PreparedAsync();
        var before = Canary(cluster).ToJsonString();
        var writes = cluster.Writes.Count;

        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() =>
            router.SetHeaderRouteAsync(new HeaderRoute("testers", [new HeaderMatch(header, System.Text.RegularExpressions.Regex.Unescape(value), kind)])));

        Assert.Equal("NginxHeaderValueRejected", e.ErrorId);
        Assert.Contains($"header route 'testers': {field}:", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
        Assert.Equal(before, Canary(cluster).ToJsonString());
    }

    [Fact]
    public async Task The_canary_upstream_is_balanced_and_pinned_as_the_stable_one_is()
    {
        var cluster = Cluster();
        var affinity = new Dictionary<string, string>
        {
            ["nginx.ingress.kubernetes.io/upstream-hash-by"] = "$request_uri",
            ["nginx.ingress.kubernetes.io/load-balance"] = "ewma",
            ["nginx.ingress.kubernetes.io/affinity"] = "cookie",
            ["nginx.ingress.kubernetes.io/affinity-mode"] = "persistent",
            ["nginx.ingress.kubernetes.io/session-cookie-name"] = "route",
            ["nginx.ingress.kubernetes.io/session-cookie-max-age"] = "172800",
        };
        var ops = new List<JsonPatchOperation> { JsonPatchOperation.Add("/metadata/annotations", new JsonObject { ["nginx.ingress.kubernetes.io/proxy-body-size"] = "8m" }) };
        ops.AddRange(affinity.Select(kv => JsonPatchOperation.Add("/metadata/annotations/" + JsonPatchApplier.Escape(kv.Key), kv.Value)));
        await cluster.PatchAsync(ResourceType.Ingress, "demo", "production", new JsonPatch(ops));

        await Router(cluster, 100).PrepareAsync();

        // What the controller reads from the canary Ingress for the canary upstream: these, and no other non-canary annotation.
        var read = NginxCanaryEvaluator.CanaryUpstreamSettings(Canary(cluster));
        Assert.Equal(affinity.OrderBy(kv => kv.Key), read.OrderBy(kv => kv.Key));
        Assert.Null(Canary(cluster)["metadata"]!["annotations"]!["nginx.ingress.kubernetes.io/proxy-body-size"]);
    }
}
