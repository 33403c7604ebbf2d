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

    public static string ParentDiffersSpec(string ns, string apiGroup, string extraSteps = "") => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: checkout, namespace: {ns} {"}"}
        spec:
          service: checkout-service
          meshProvider: linkerd
          linkerd: {"{"} apiGroup: {apiGroup}, httpRoute: checkout-service, stableService: checkout-service-stable {"}"}
          stable: {"{"} deployment: checkout {"}"}
          canary: {"{"} image: {MeshFixtures.CanaryImage}, container: app {"}"}
        {MeshFixtures.Steps}{extraSteps}
        """;
}
