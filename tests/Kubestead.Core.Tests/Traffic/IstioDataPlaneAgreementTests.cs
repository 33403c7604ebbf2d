using System.Text.Json.Nodes;
using Kubestead.Core.Tests.Traffic.DataPlanes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// Where a gateway VirtualService shaped like Istio's bookinfo gateway sample sends requests before and after the
/// Istio router's writes, decided by <see cref="IstioRouteEvaluator"/> (first matching HTTP route).
/// </summary>
public class IstioDataPlaneAgreementTests
{
    private static readonly ResourceType Vs = IstioRouterTests.Vs;
    private static readonly ResourceType Dr = IstioRouterTests.Dr;

    private const string Bookinfo = """
        {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"bookinfo","namespace":"bookinfo"},
         "spec":{"hosts":["*"],"gateways":["bookinfo-gateway"],"http":[
           {"name":"productpage",
            "match":[{"uri":{"exact":"/productpage"}},{"uri":{"prefix":"/static"}},{"uri":{"exact":"/login"}},{"uri":{"exact":"/logout"}},{"uri":{"prefix":"/api/v1/products"}}],
            "rewrite":{"authority":"productpage.bookinfo.svc.cluster.local"},
            "headers":{"request":{"set":{"x-gateway":"bookinfo"}}},
            "timeout":"10s","retries":{"attempts":3,"perTryTimeout":"2s"},
            "route":[{"destination":{"host":"productpage","subset":"v1","port":{"number":9080}},"weight":100},
                     {"destination":{"host":"productpage","subset":"v2","port":{"number":9080}},"weight":0THIRD}]}]}}
        """;

    private static EmulatedCluster Cluster(string third = "")
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(Vs, JsonNode.Parse(Bookinfo.Replace("THIRD", third))!.AsObject());
        cluster.Seed(Dr, JsonNode.Parse("""
            {"metadata":{"name":"productpage","namespace":"bookinfo"},"spec":{"host":"productpage","subsets":[
              {"name":"v1","labels":{"version":"v1"}},{"name":"v2","labels":{"version":"v2"}},{"name":"v3","labels":{"version":"v3"}}]}}
            """)!.AsObject());
        return cluster;
    }

    private static IstioRouter Router(EmulatedCluster c) =>
        new(c, new IstioRouterOptions("bookinfo", "productpage", "bookinfo", "productpage", null, "productpage", "v1", "v2"));

    private static IstioDecision? Where(EmulatedCluster c, HttpRequest request) =>
        IstioRouteEvaluator.Route(c.Peek(Vs, "bookinfo", "bookinfo")!, request);

    [Fact]
    public async Task The_header_route_takes_header_requests_only_on_the_managed_routes_URIs_and_keeps_its_settings()
    {
        var cluster = Cluster();
        var router = Router(cluster);
        await router.SetCanaryWeightAsync(20);
        var page = new HttpRequest("/productpage").With("x-canary", "true");
        var elsewhere = new HttpRequest("/admin").With("x-canary", "true");
        Assert.Equal(0.2, Where(cluster, page)!.ShareOf("productpage/v2"), 9);
        Assert.Null(Where(cluster, elsewhere));
        var managed = Where(cluster, page)!.Route;

        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));

        var decision = Where(cluster, page)!;
        Assert.Equal(1, decision.ShareOf("productpage/v2"));
        Assert.Equal(1, Where(cluster, new HttpRequest("/api/v1/products/1").With("x-canary", "true"))!.ShareOf("productpage/v2"));
        Assert.Null(Where(cluster, elsewhere));
        Assert.Equal(0.2, Where(cluster, new HttpRequest("/productpage"))!.ShareOf("productpage/v2"), 9);
        foreach (var setting in new[] { "rewrite", "headers", "timeout", "retries" })
            Assert.Equal(managed[setting]!.ToJsonString(), decision.Route[setting]?.ToJsonString());

        await router.RemoveHeaderRouteAsync("testers");
        Assert.Equal(0.2, Where(cluster, page)!.ShareOf("productpage/v2"), 9);
    }

    [Fact]
    public async Task A_route_with_a_third_destination_is_refused_naming_that_destination_and_nothing_is_written()
    {
        var cluster = Cluster("},{\"destination\":{\"host\":\"productpage\",\"subset\":\"v3\",\"port\":{\"number\":9080}},\"weight\":0");
        var router = Router(cluster);
        var writes = cluster.Writes.Count;

        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.SetCanaryWeightAsync(10));

        Assert.Equal("IstioRouteExtraDestination", e.ErrorId);
        Assert.Contains("spec.http[0] (route 'productpage') also sends to productpage/v3", e.Message);
        Assert.DoesNotContain("missing", e.Message);
        Assert.Equal(writes, cluster.Writes.Count);
    }
}
