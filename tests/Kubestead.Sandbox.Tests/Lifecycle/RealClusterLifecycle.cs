using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Sandbox.Tests.Server;


namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>
/// A fresh namespace on the real API server with a "shop" Deployment and Service, plus the real-cluster tests'
/// <see cref="ReadinessController"/> standing in for the Deployment controller (the test server runs none).
/// </summary>
public sealed class RealClusterLifecycle : IAsyncDisposable
{
    private readonly ReadinessController _readiness;

    private RealClusterLifecycle(IKubernetesApi api, string ns)
    {
        Api = api;
        Namespace = ns;
        _readiness = new ReadinessController(api, ns);
    }

    public IKubernetesApi Api { get; }

    public string Namespace { get; }

    /// <summary>The one place that makes the client, so swapping the client behind the port is a one-line change.</summary>
    public static IKubernetesApi CreateClient(string? context = null) => RealCluster.RealCluster.Connect(RealCluster.RealCluster.Kubeconfig, context);

    /// <summary>A client for an explicit connection (e.g. a ServiceAccount's token).</summary>
    public static IKubernetesApi CreateClient(ClusterConnection connection) => new KubernetesClientAdapter(connection);

    public static async Task<RealClusterLifecycle> CreateAsync(int stableReplicas = 2, JsonObject? podAnnotations = null)
    {
        var api = CreateClient();
        var ns = await Kubestead.Tests.Shared.RealApiServer.CreateNamespaceAsync(api, "lc", maxLength: 20);
        var env = new RealClusterLifecycle(api, ns);
        await api.CreateAsync(ResourceType.Deployment, ns, Deployment("shop", "stable", "registry.example.com/shop:1.9.0", stableReplicas, podAnnotations));
        await api.CreateAsync(ResourceType.Service, ns, JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"shop"},
             "spec":{"selector":{"app":"shop"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]}}
            """)!.AsObject());
        return env;
    }

    public static JsonObject Deployment(string name, string version, string image, int replicas, JsonObject? podAnnotations = null) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "shop" } },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "shop", ["version"] = version } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["labels"] = new JsonObject { ["app"] = "shop", ["version"] = version },
                    ["annotations"] = podAnnotations?.DeepClone() ?? new JsonObject(),
                },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "app", ["image"] = image, ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080 }),
                    }),
                },
            },
        },
    };

    /// <summary>A mesh-free spec for the shop; <paramref name="extra"/> lands under spec.</summary>
    public string Spec(string canary, string steps, string extra = "") => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: {"{"} name: shop, namespace: {Namespace} {"}"}
        spec:
          service: shop
          meshProvider: none
          none: {"{"} readyTimeout: 60s {"}"}
          stable: {"{"} deployment: shop {"}"}
          canary: {canary}
        {extra}
          steps:
        {steps}
        """;

    /// <summary>A service with its own client (disposing the service disposes its client).</summary>
    public KubesteadService Service(string driver = "lifecycle-test") => new(CreateClient(), new KubesteadServiceOptions
    {
        Driver = new DriverIdentity(driver, "test", null, "1"),
        PollInterval = TimeSpan.FromMilliseconds(200),
        LeaseDuration = TimeSpan.FromSeconds(15),
    });

    public Task<JsonObject> GetDeploymentAsync(string name) => Api.GetAsync(ResourceType.Deployment, Namespace, name);

    public async Task<JsonObject?> TryGetDeploymentAsync(string name)
    {
        try
        {
            return await GetDeploymentAsync(name);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _readiness.DisposeAsync();
        try
        {
            await Api.DeleteAsync(ResourceType.Namespace, null, Namespace);
        }
        finally
        {
            if (Api is IAsyncDisposable a) await a.DisposeAsync();
        }
    }
}
