using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Objects and specs for issue #13's routing features (parent Service apart from the stable backend, cookie routes, a created baseline).</summary>
public static class RouteFeatureFixtures
{
    /// <summary>The seed's Linkerd setup: a route on <c>checkout-service</c> splitting between <c>-stable</c> and <c>-canary</c> backends.</summary>
    public static (ResourceType, JsonObject)[] ParentDiffersObjects(ResourceType routeType)
    {
        var route = MeshFixtures.Golden("httproute-parent-differs.json");
        route["apiVersion"] = routeType.ApiVersion;
        route["metadata"]!.AsObject().Remove("namespace");
        return
        [
            (ResourceType.Deployment, MeshFixtures.Deployment("checkout", "checkout", 3)),
            (ResourceType.Service, MeshFixtures.Service("checkout-service", 80, ("app", "checkout"))),
            (ResourceType.Service, MeshFixtures.Service("checkout-service-stable", 8080, ("app", "checkout"), ("version", "stable"))),
            (routeType, route),
        ];
    }

    /// <summary>Steps that hold at 20% with a cookie route to the canary, then drop it and finish.</summary>
    public const string CookieSteps = """
          steps:
            - setWeight: 20
            - setHeaderRoute: { name: beta-users, cookie: { name: canary, value: "always.1" } }
            - pause: {}
            - removeHeaderRoute: { name: beta-users }
            - setWeight: 60
        """;

    /// <summary>What Kubestead writes for <c>cookie: {name: canary, value: always.1}</c> (the dot escaped).</summary>
    public const string CookieRegex = @"^(.*;\s*)?canary=(always\.1)(;.*)?$";

    public static string ParentDiffersSpec(string ns, string apiGroup, string? steps = null) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: checkout, namespace: {ns} {"}"}
        spec:
          service: checkout-service
          meshProvider: linkerd
          linkerd: {"{"} apiGroup: {apiGroup}, httpRoute: checkout-service, stableService: checkout-service-stable {"}"}
          stable: {"{"} deployment: checkout {"}"}
          canary: {"{"} image: {MeshFixtures.CanaryImage}, container: app {"}"}
        {steps ?? MeshFixtures.Steps}
        """;

    /// <summary>The seed's Linkerd setup with a created baseline, holding at 20% until resumed.</summary>
    public static string BaselineSpec(string ns, string apiGroup) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: checkout, namespace: {ns} {"}"}
        spec:
          service: checkout-service
          meshProvider: linkerd
          linkerd: {"{"} apiGroup: {apiGroup}, httpRoute: checkout-service, stableService: checkout-service-stable {"}"}
          baseline: {"{"} create: true {"}"}
          stable: {"{"} deployment: checkout {"}"}
          canary: {"{"} image: {MeshFixtures.CanaryImage}, container: app {"}"}
          scaleDownDelay: 0s
          steps:
            - setWeight: 20
            - pause: {"{"}{"}"}
            - setWeight: 50
            - pause: {"{"} duration: 1m {"}"}
        """;
}
