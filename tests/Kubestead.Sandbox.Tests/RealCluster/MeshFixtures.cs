using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Production-shaped objects per mesh (the routers' golden files where they exist) and rollout specs whose steps need
/// no metrics (setWeight, pause, header routes), so a rollout runs on a server without Prometheus.
/// </summary>
public static class MeshFixtures
{
    public static readonly ResourceType VirtualService = new("networking.istio.io", "v1", "virtualservices", "VirtualService");
    public static readonly ResourceType DestinationRule = new("networking.istio.io", "v1", "destinationrules", "DestinationRule");
    public static readonly ResourceType GatewayRoute = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
    public static readonly ResourceType LinkerdRoute = new("policy.linkerd.io", "v1beta3", "httproutes", "HTTPRoute");

    /// <summary>The HTTPRoute type of one of the two API groups Linkerd reads.</summary>
    public static ResourceType RouteType(string apiGroup) => apiGroup == "policy.linkerd.io" ? LinkerdRoute : GatewayRoute;
    public static readonly ResourceType TrafficSplit = new("split.smi-spec.io", "v1alpha4", "trafficsplits", "TrafficSplit");

    public const string CanaryImage = "registry.example.com/app:2.0.0";

    /// <summary>The default steps: two weights, each held for a minute, then promotion.</summary>
    public const string Steps = """
          steps:
            - setWeight: 20
            - pause: { duration: 1m }
            - setWeight: 60
            - pause: { duration: 1m }
        """;

    public static JsonObject Golden(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "tests", "Kubestead.Core.Tests", "Traffic", "golden", file)))!.AsObject();

    public static JsonObject Deployment(string name, string app, int replicas, string version = "stable", string image = "registry.example.com/app:1.0.0") =>
        JsonNode.Parse($$$"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"{{{name}}}","labels":{"app":"{{{app}}}"},"annotations":{"team":"payments"}},
             "spec":{"replicas":{{{replicas}}},"revisionHistoryLimit":5,
                     "selector":{"matchLabels":{"app":"{{{app}}}","version":"{{{version}}}"}},
                     "template":{"metadata":{"labels":{"app":"{{{app}}}","version":"{{{version}}}"}},
                                 "spec":{"containers":[{"name":"app","image":"{{{image}}}","ports":[{"containerPort":8080}],
                                                        "resources":{"requests":{"cpu":"100m","memory":"128Mi"} } }]} } } }
            """)!.AsObject();

    public static JsonObject Service(string name, int port, params (string Key, string Value)[] selector)
    {
        var sel = new JsonObject();
        foreach (var (k, v) in selector) sel[k] = v;
        return new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["selector"] = sel,
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["targetPort"] = 8080, ["protocol"] = "TCP" }),
            },
        };
    }

    /// <summary>Istio with subsets: the real-world VirtualService golden file (route "primary" of host reviews).</summary>
    public static (ResourceType, JsonObject)[] IstioSubsetObjects() =>
    [
        (ResourceType.Deployment, Deployment("reviews", "reviews", 3)),
        (ResourceType.Service, Service("reviews", 9080, ("app", "reviews"))),
        (DestinationRule, JsonNode.Parse("""
            {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"reviews"},
             "spec":{"host":"reviews","trafficPolicy":{"connectionPool":{"http":{"http1MaxPendingRequests":100}}},
                     "subsets":[{"name":"stable","labels":{"version":"stable"}},{"name":"canary","labels":{"version":"canary"}}]}}
            """)!.AsObject()),
        (VirtualService, Golden("virtualservice-real-world.json")),
    ];

    public static string IstioSubsetSpec(string ns, string steps = Steps) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: reviews, namespace: {ns} {"}"}
        spec:
          service: reviews
          meshProvider: istio
          istio:
            virtualService: {"{"} name: reviews, route: primary {"}"}
            destinationRule: {"{"} name: reviews {"}"}
          stable: {"{"} deployment: reviews {"}"}
          canary: {"{"} image: {CanaryImage} {"}"}
        {steps}
        """;

    public static (ResourceType, JsonObject)[] IstioHostBasedObjects() =>
    [
        (ResourceType.Deployment, Deployment("shop", "shop", 2)),
        (ResourceType.Deployment, Deployment("shop-v2", "shop", 2, version: "canary", image: CanaryImage)),
        (ResourceType.Service, Service("shop", 80, ("app", "shop"), ("version", "stable"))),
        (ResourceType.Service, Service("shop-canary", 80, ("app", "shop"), ("version", "canary"))),
        (VirtualService, JsonNode.Parse("""
            {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"shop","labels":{"app":"shop"}},
             "spec":{"hosts":["shop"],
                     "http":[{"name":"primary",
                              "route":[{"destination":{"host":"shop","port":{"number":80}},"weight":100},
                                       {"destination":{"host":"shop-canary","port":{"number":80}},"weight":0}],
                              "retries":{"attempts":3,"perTryTimeout":"2s","retryOn":"5xx,reset"},"timeout":"10s"}]}}
            """)!.AsObject()),
    ];

    public static string IstioHostBasedSpec(string ns) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: shop, namespace: {ns} {"}"}
        spec:
          service: shop
          meshProvider: istio
          istio:
            virtualService: {"{"} name: shop, route: primary {"}"}
            hostBased: {"{"} stableService: shop, canaryService: shop-canary {"}"}
          stable: {"{"} deployment: shop {"}"}
          canary: {"{"} deployment: shop-v2 {"}"}
        {Steps}
        """;

    /// <summary>Linkerd: the real-world HTTPRoute golden file, served as Gateway API's or Linkerd's own HTTPRoute.</summary>
    public static (ResourceType, JsonObject)[] LinkerdObjects(ResourceType routeType)
    {
        var route = Golden("httproute-real-world.json");
        route["apiVersion"] = routeType.ApiVersion;
        if (routeType.Group == "policy.linkerd.io")
            // Linkerd's own HTTPRoute knows only request-side filters.
            route["spec"]!["rules"]![1]!["filters"] = JsonNode.Parse("""
                [{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x-route","value":"checkout"}]}}]
                """);
        return
        [
            (ResourceType.Deployment, Deployment("checkout", "checkout", 3)),
            (ResourceType.Service, Service("checkout", 8080, ("app", "checkout"), ("version", "stable"))),
            (routeType, route),
        ];
    }

    public static string LinkerdSpec(string ns, string apiGroup) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: checkout, namespace: {ns} {"}"}
        spec:
          service: checkout
          meshProvider: linkerd
          linkerd: {"{"} apiGroup: {apiGroup}, httpRoute: checkout, canaryService: checkout-canary {"}"}
          stable: {"{"} deployment: checkout {"}"}
          canary: {"{"} image: {CanaryImage}, container: app {"}"}
        {Steps}
        """;

    public static (ResourceType, JsonObject)[] SmiObjects() =>
    [
        (ResourceType.Deployment, Deployment("payments", "payments", 2)),
        (ResourceType.Service, Service("payments", 80, ("app", "payments"), ("version", "stable"))),
        (TrafficSplit, JsonNode.Parse("""
            {"apiVersion":"split.smi-spec.io/v1alpha4","kind":"TrafficSplit","metadata":{"name":"payments"},
             "spec":{"service":"payments","backends":[{"service":"payments","weight":100}]}}
            """)!.AsObject()),
    ];

    public static string SmiSpec(string ns) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: payments, namespace: {ns} {"}"}
        spec:
          service: payments
          meshProvider: smi
          smi: {"{"} trafficSplit: payments, apiVersion: split.smi-spec.io/v1alpha4 {"}"}
          stable: {"{"} deployment: payments {"}"}
          canary: {"{"} image: {CanaryImage} {"}"}
        {Steps}
        """;

    public static (ResourceType, JsonObject)[] NoMeshObjects() =>
    [
        (ResourceType.Deployment, Deployment("api", "api", 9)),
        (ResourceType.Service, Service("api", 80, ("app", "api"))),
    ];

    public static string NoMeshSpec(string ns) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: api, namespace: {ns} {"}"}
        spec:
          service: api
          meshProvider: none
          none: {"{"} capacity: keepStable, readyTimeout: 5m {"}"}
          stable: {"{"} deployment: api {"}"}
          canary: {"{"} image: {CanaryImage} {"}"}
          steps:
            - setWeight: 10
            - pause: {"{"} duration: 1m {"}"}
            - setWeight: 50
            - pause: {"{"} duration: 1m {"}"}
        """;
}
