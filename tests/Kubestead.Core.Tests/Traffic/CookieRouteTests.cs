using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>Header routes that match a cookie (issue #13 item 4): Istio and HTTPRoute as a regex on the cookie header; SMI and no mesh refuse.</summary>
public class CookieRouteTests
{
    private static readonly ResourceType Vs = IstioRouterTests.Vs;
    private static readonly ResourceType Dr = IstioRouterTests.Dr;
    private static readonly CookieMatch Beta = new("canary", "always");

    private static string Golden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traffic", "golden", name));

    private static (EmulatedCluster, IstioRouter) Istio()
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(Vs, JsonNode.Parse(Golden("virtualservice-real-world.json"))!.AsObject());
        cluster.Seed(Dr, JsonNode.Parse("""
            {"metadata":{"name":"reviews","namespace":"bookinfo"},"spec":{"host":"reviews","subsets":[
              {"name":"stable","labels":{"version":"stable"}},{"name":"canary","labels":{"version":"canary"}}]}}
            """)!.AsObject());
        return (cluster, new IstioRouter(cluster, new IstioRouterOptions("bookinfo", "reviews", "reviews", "reviews", null, "reviews")));
    }

    private static ResourceType RouteType(string group) => new(group, group == "policy.linkerd.io" ? "v1beta3" : "v1", "httproutes", "HTTPRoute");

    private static (EmulatedCluster, GatewayApiRouter) Linkerd(string group)
    {
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"checkout","namespace":"store"},"spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":8080}]}}
            """)!.AsObject());
        var route = JsonNode.Parse(Golden("httproute-real-world.json"))!.AsObject();
        route["apiVersion"] = $"{group}/{RouteType(group).Version}";
        cluster.Seed(RouteType(group), route);
        return (cluster, new GatewayApiRouter(cluster, new GatewayApiRouterOptions("store", "checkout", "checkout", "checkout-canary",
            new Dictionary<string, string> { ["version"] = "canary" }, "checkout", group, RouteType(group).Version)));
    }

    [Fact]
    public void The_cookie_regex_matches_the_cookie_anywhere_in_the_header_and_nothing_else()
    {
        // Property: any RFC 6265 name and value (metacharacters included), among any other cookies, under full-match
        // semantics (Envoy) and search semantics (Linkerd) alike.
        var tokenChars = "abcXYZ019!#$%&'*+-.^_`|~".ToCharArray();
        var valueChars = "abcXYZ019!#$%&'()*+-./:<=>?@[]^_`{|}~".ToCharArray();
        var gen =
            from name in Gen.NonEmptyListOf(Gen.Elements(tokenChars)).Select(l => new string(l.Take(12).ToArray()))
            from value in Gen.NonEmptyListOf(Gen.Elements(valueChars)).Select(l => new string(l.Take(12).ToArray()))
            from before in Gen.Choose(0, 3)
            from after in Gen.Choose(0, 3)
            from spaces in Gen.Elements(true, false)
            select (name, value, before, after, spaces);
        Check.QuickThrowOnFailure(Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var regex = new CookieMatch(t.name, t.value).HeaderRegex;
            string Header(string pair) => string.Join(t.spaces ? "; " : ";",
                Enumerable.Range(0, t.before).Select(i => $"o{i}=x{i}").Append(pair).Concat(Enumerable.Range(0, t.after).Select(i => $"p{i}=y{i}")));
            bool Full(string h) => Regex.IsMatch(h, $"^(?:{regex})$");
            bool Search(string h) => Regex.IsMatch(h, regex);
            var hit = Header($"{t.name}={t.value}");
            var misses = new[] { Header($"{t.name}={t.value}x"), Header($"x{t.name}={t.value}"), Header($"{t.name}=x{t.value}"), Header($"{t.name}x={t.value}") };
            return Full(hit) && Search(hit) && misses.All(h => !Full(h) && !Search(h));
        }));
    }

    [Fact]
    public void A_cookie_regex_matches_the_value_as_a_whole()
    {
        var regex = new CookieMatch("group", "beta|internal", IsRegex: true).HeaderRegex;
        Assert.Matches(regex, "session=abc; group=internal");
        Assert.Matches(regex, "group=beta");
        Assert.DoesNotMatch(regex, "group=betamax");
        Assert.DoesNotMatch(regex, "subgroup=beta");
    }

    [Theory]
    [InlineData("", "x", false, "the cookie name is empty")]
    [InlineData("can ary", "x", false, "contains ' ', which a cookie name cannot hold")]
    [InlineData("canary", "a;b", false, "contains ';', which a cookie value cannot hold")]
    [InlineData("canary", "", false, "the cookie value is empty")]
    [InlineData("canary", "(?=x)y", true, "which RE2 (Istio's and Linkerd's engine) does not support")]
    [InlineData("canary", "(a)\\1", true, "which RE2")]
    [InlineData("canary", "^beta$", true, "must not be anchored")]
    [InlineData("canary", "beta(", true, "is not a valid regular expression")]
    public void Bad_cookie_matches_are_named(string name, string value, bool regex, string message) =>
        Assert.Contains(message, CookieMatch.Problem(name, value, regex));

    [Fact]
    public async Task Istio_writes_a_cookie_regex_route_before_the_weighted_one_and_removes_it_again()
    {
        var (cluster, router) = Istio();
        var before = cluster.Peek(Vs, "bookinfo", "reviews")!;
        var writes = cluster.Writes.Count;
        await router.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta));
        Assert.Equal(1, cluster.Writes.Count - writes);
        var http = cluster.Peek(Vs, "bookinfo", "reviews")!["spec"]!["http"]!.AsArray();
        Assert.Equal(JsonNode.Parse(Golden("istio-cookie-route.json"))!.ToJsonString(), http[1]!.ToJsonString());
        Assert.Equal(before["spec"]!["http"]!.AsArray().Count + 1, http.Count);
        await router.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta)); // idempotent
        Assert.Equal(1, cluster.Writes.Count - writes);
        await router.RemoveHeaderRouteAsync("beta-users");
        Assert.Empty(JsonDiff.ChangedSpec(before["spec"], cluster.Peek(Vs, "bookinfo", "reviews")!["spec"]));
    }

    [Theory]
    [InlineData("gateway.networking.k8s.io")]
    [InlineData("policy.linkerd.io")]
    public async Task HTTPRoute_gets_a_RegularExpression_match_on_the_cookie_header_in_both_groups(string group)
    {
        var (cluster, router) = Linkerd(group);
        await router.PrepareAsync();
        var before = cluster.Peek(RouteType(group), "store", "checkout")!;
        await router.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta));
        var rules = cluster.Peek(RouteType(group), "store", "checkout")!["spec"]!["rules"]!.AsArray();
        var rule = rules.Single(r => r!["matches"]?[0]?["headers"] is not null)!;
        Assert.Equal("""[{"name":"cookie","value":"^(.*;\\s*)?canary=(always)(;.*)?$","type":"RegularExpression"}]""", rule["matches"]![0]!["headers"]!.ToJsonString());
        Assert.Equal("checkout-canary", rule["backendRefs"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(30, (await router.SetCanaryWeightAsync(30)).CanaryPercent, 9); // the weighted rule is still found
        await router.SetCanaryWeightAsync(0);
        await router.RemoveHeaderRouteAsync("beta-users");
        Assert.DoesNotContain(JsonDiff.ChangedSpec(before["spec"], cluster.Peek(RouteType(group), "store", "checkout")!["spec"]),
            p => !p.EndsWith("/weight", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Smi_and_no_mesh_refuse_a_cookie_route_by_name_and_write_nothing()
    {
        var cluster = new EmulatedCluster();
        var smi = new SmiRouter(cluster, new SmiRouterOptions("store", "checkout", "checkout", "checkout-canary", new Dictionary<string, string>(), null));
        var none = new ReplicaRatioRouter(cluster, new ReplicaRatioRouterOptions("store", "checkout", "checkout", "checkout", "checkout-canary",
            CapacityMode.KeepStable, TimeSpan.FromMinutes(1), TimeProvider.System));
        var e1 = await Assert.ThrowsAsync<TrafficRoutingException>(() => smi.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta)));
        Assert.Contains("header route 'beta-users' (cookie canary): SMI TrafficSplit routes by weight only and cannot match cookies", e1.Message);
        var e2 = await Assert.ThrowsAsync<TrafficRoutingException>(() => none.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta)));
        Assert.Contains("routing by cookie needs a mesh", e2.Message);
        Assert.Empty(cluster.Writes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_crashed_cookie_route_write_converges_on_retry_without_a_duplicate(bool afterApply)
    {
        var (istioCluster, istio) = Istio();
        istioCluster.InjectFault("PATCH", "virtualservices", "reviews", afterApply: afterApply);
        await Assert.ThrowsAsync<KubernetesApiException>(() => istio.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta)));
        await istio.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta));
        Assert.Single(istioCluster.Peek(Vs, "bookinfo", "reviews")!["spec"]!["http"]!.AsArray(), r => r!["name"]?.GetValue<string>() == "kubestead-reviews-beta-users");

        var (routeCluster, linkerd) = Linkerd("policy.linkerd.io");
        await linkerd.PrepareAsync();
        routeCluster.InjectFault("PATCH", "httproutes", "checkout", afterApply: afterApply);
        await Assert.ThrowsAsync<KubernetesApiException>(() => linkerd.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta)));
        await linkerd.SetHeaderRouteAsync(new HeaderRoute("beta-users", [], Beta));
        Assert.Single(routeCluster.Peek(RouteType("policy.linkerd.io"), "store", "checkout")!["spec"]!["rules"]!.AsArray(),
            r => r!["matches"]?[0]?["headers"] is not null);
    }
}
