using System.Text.Json.Nodes;
using Kubestead.Core.Tests.Traffic.DataPlanes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// Where an HTTPRoute sends requests before and after each write of the Gateway API router, decided by
/// <see cref="HttpRouteEvaluator"/> (the HTTPRoute match precedence). The route is shaped like gateway-api's
/// examples/standard routes: a path-matched rule with a header modifier and timeouts, and rules of the user's own.
/// </summary>
public class GatewayApiDataPlaneAgreementTests
{
    private static readonly ResourceType Route = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
    private static readonly Dictionary<string, string> CanaryLabels = new() { ["version"] = "canary" };

    private const string StoreRoute = """
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute",
         "metadata":{"name":"store","namespace":"store","creationTimestamp":"2026-01-01T00:00:00Z"},
         "spec":{"parentRefs":[{"name":"example-gateway"}],"hostnames":["store.example.com"],"rules":[
           {"matches":[{"path":{"type":"PathPrefix","value":"/checkout"}},{"path":{"type":"Exact","value":"/cart"},"method":"POST"}],
            "filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"add":[{"name":"x-gateway","value":"store"}]}}],
            "timeouts":{"request":"10s","backendRequest":"2s"},
            "backendRefs":[{"name":"checkout","port":8080STABLEWEIGHT}]},
           {"matches":[{"path":{"type":"PathPrefix","value":"/static"}}],"backendRefs":[{"name":"static","port":80}]},
           {"matches":[{"path":{"type":"PathPrefix","value":"/checkout"},"headers":[{"name":"env","value":"preview"}]}],
            "backendRefs":[{"name":"checkout-preview","port":8080}]}]}}
        """;

    /// <summary>A catch-all managed rule with a header rule of the user's after it, as in gateway-api's http-routing example.</summary>
    private const string CatchAllRoute = """
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"store","namespace":"store"},
         "spec":{"parentRefs":[{"name":"example-gateway"}],"rules":[
           {"backendRefs":[{"name":"checkout","port":8080}]},
           {"matches":[{"headers":[{"name":"env","value":"preview"}]}],"backendRefs":[{"name":"checkout-preview","port":8080}]}]}}
        """;

    private static EmulatedCluster Cluster(string stableWeight = "", string route = StoreRoute)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout","namespace":"store"},"spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":8080}]}}
            """)!.AsObject());
        cluster.Seed(Route, JsonNode.Parse(route.Replace("STABLEWEIGHT", stableWeight))!.AsObject());
        return cluster;
    }

    private static GatewayApiRouter Router(EmulatedCluster c) =>
        new(c, new GatewayApiRouterOptions("store", "checkout", "checkout", "checkout-canary", CanaryLabels, "store"));

    private static JsonObject Peek(EmulatedCluster c) => c.Peek(Route, "store", "store")!;

    private static HttpRouteDecision? Where(EmulatedCluster c, HttpRequest request) => HttpRouteEvaluator.Route(request, Peek(c));

    [Fact]
    public async Task The_header_route_takes_header_requests_on_the_managed_paths_and_no_other_path()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(10);
        var checkout = new HttpRequest("/checkout/pay").With("x-canary", "true");
        var cart = new HttpRequest("/cart", "POST").With("x-canary", "true");
        var unrouted = new HttpRequest("/admin").With("x-canary", "true");
        var statics = new HttpRequest("/static/app.js").With("x-canary", "true");
        Assert.Equal(0.1, Where(cluster, checkout)!.ShareOf("checkout-canary"), 9);
        Assert.Null(Where(cluster, unrouted));

        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));

        Assert.Equal(1, Where(cluster, checkout)!.ShareOf("checkout-canary"));
        Assert.Equal(1, Where(cluster, cart)!.ShareOf("checkout-canary"));
        Assert.Null(Where(cluster, new HttpRequest("/cart", "GET").With("x-canary", "true"))); // the managed match needs POST
        Assert.Null(Where(cluster, unrouted));
        Assert.Equal(1, Where(cluster, statics)!.ShareOf("static"));
        Assert.Equal(0.1, Where(cluster, new HttpRequest("/checkout/pay"))!.ShareOf("checkout-canary"), 9);

        await router.RemoveHeaderRouteAsync("testers");
        Assert.Equal(0.1, Where(cluster, checkout)!.ShareOf("checkout-canary"), 9);
    }

    [Fact]
    public async Task The_header_route_carries_the_managed_rules_filters_and_timeouts()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.PrepareAsync();
        var request = new HttpRequest("/checkout").With("x-canary", "true");
        var stableRule = Where(cluster, request)!.Rule;

        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));

        var canaryRule = Where(cluster, request)!.Rule;
        Assert.Equal(1, Where(cluster, request)!.ShareOf("checkout-canary"));
        Assert.Equal(stableRule["filters"]!.ToJsonString(), canaryRule["filters"]?.ToJsonString());
        Assert.Equal(stableRule["timeouts"]!.ToJsonString(), canaryRule["timeouts"]?.ToJsonString());
    }

    [Theory]
    [InlineData(StoreRoute, "/checkout")]
    [InlineData(CatchAllRoute, "/")]
    public async Task The_header_route_does_not_win_a_tie_with_a_rule_the_user_listed_after_the_managed_one(string route, string path)
    {
        var cluster = Cluster(route: route);
        var router = Router(cluster);
        await router.PrepareAsync();
        var both = new HttpRequest(path).With("env", "preview").With("x-canary", "true");
        Assert.Equal(1, Where(cluster, both)!.ShareOf("checkout-preview"));

        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));

        Assert.Equal(1, Where(cluster, both)!.ShareOf("checkout-preview"));
        Assert.Equal(1, Where(cluster, new HttpRequest(path).With("x-canary", "true"))!.ShareOf("checkout-canary"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(",\"weight\":1")]
    [InlineData(",\"weight\":50")]
    public async Task Promotion_and_abort_put_the_stable_weight_back_as_the_user_wrote_it(string stableWeight)
    {
        var cluster = Cluster(stableWeight);
        var before = Peek(cluster);
        var router = Router(cluster);
        await router.PrepareAsync();
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        await router.SetCanaryWeightAsync(40);
        Assert.Equal(0.4, Where(cluster, new HttpRequest("/checkout"))!.ShareOf("checkout-canary"), 9);

        await router.RemoveHeaderRouteAsync("testers");
        await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();

        Assert.Equal(1, Where(cluster, new HttpRequest("/checkout"))!.ShareOf("checkout"));
        Assert.Empty(JsonDiff.ChangedSpec(before["spec"], Peek(cluster)["spec"]));
        Assert.DoesNotContain(Peek(cluster)["metadata"]!["annotations"]?.AsObject().Select(kv => kv.Key) ?? [], k => k.StartsWith("kubestead.io/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_clean_up_while_the_canary_still_has_weight_keeps_the_weights_it_has()
    {
        var cluster = Cluster(",\"weight\":1");
        var router = Router(cluster);
        await router.PrepareAsync();
        // The user's canary backendRef: clean-up keeps it, so restoring stable to 1 beside canary 40 would move traffic.
        await cluster.PatchAsync(Route, "store", "store", new JsonPatch([JsonPatchOperation.Remove("/metadata/annotations/" + JsonPatchApplier.Escape("kubestead.io/canary-backend-added"))]));
        await router.SetCanaryWeightAsync(40);

        await router.CleanupAsync();

        Assert.Equal(0.4, Where(cluster, new HttpRequest("/checkout"))!.ShareOf("checkout-canary"), 9);
    }
}
