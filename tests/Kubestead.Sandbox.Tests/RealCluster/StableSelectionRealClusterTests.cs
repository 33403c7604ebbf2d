using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Issue #25 item 1 on the real kube-apiserver: a stable Service whose selector (<c>app: X</c>) also matches the pods
/// Kubestead would create is refused by <c>validate --cluster</c> and by <c>start</c>, naming the field and the label to
/// add, and nothing is created.
/// </summary>
public class StableSelectionRealClusterTests
{
    public static TheoryData<string> Meshes() => new() { "linkerd", "smi", "nginx" };

    private static ((ResourceType, JsonObject)[] Objects, string Spec, string Service) Case(string mesh, string ns)
    {
        switch (mesh)
        {
            case "linkerd":
            {
                var objects = MeshFixtures.LinkerdObjects(MeshFixtures.GatewayRoute);
                objects[1].Item2["spec"]!["selector"] = new JsonObject { ["app"] = "checkout" };
                return (objects, MeshFixtures.LinkerdSpec(ns, "gateway.networking.k8s.io"), "checkout");
            }
            case "smi":
            {
                var objects = MeshFixtures.SmiObjects();
                objects[1].Item2["spec"]!["selector"] = new JsonObject { ["app"] = "payments" };
                return (objects, MeshFixtures.SmiSpec(ns), "payments");
            }
            default:
            {
                var stable = MeshFixtures.Service("checkout", 80, ("app", "checkout"));
                stable["spec"]!["ports"]!.AsArray().Add(new JsonObject { ["name"] = "api", ["port"] = 8080, ["targetPort"] = 8080, ["protocol"] = "TCP" });
                return (
                [
                    (ResourceType.Deployment, MeshFixtures.Deployment("checkout", "checkout", 2)),
                    (ResourceType.Service, stable),
                    (ResourceType.Ingress, MeshFixtures.Golden("ingress-real-world.json")),
                ], $$"""
                    apiVersion: kubestead.io/v1alpha1
                    kind: Rollout
                    metadata: { name: checkout, namespace: {{ns}} }
                    spec:
                      service: checkout
                      meshProvider: nginx
                      nginx: { ingress: storefront, canaryService: checkout-canary }
                      stable: { deployment: checkout }
                      canary: { image: {{MeshFixtures.CanaryImage}} }
                    {{MeshFixtures.Steps}}
                    """, "checkout");
            }
        }
    }

    [RealClusterTheory]
    [MemberData(nameof(Meshes))]
    public async Task A_stable_Service_selecting_every_version_is_refused_by_validate_and_start_and_nothing_is_created(string mesh)
    {
        await using var env = await RealRolloutEnvironment.CreateAsync($"sel-{mesh}");
        var (objects, spec, svc) = Case(mesh, env.Namespace);
        await env.SeedAsync(objects);
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());

        var report = await service.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
        var failed = Assert.Single(report.Checks, c => c.Outcome == CheckOutcome.Failed);
        Assert.Contains($"spec.service: services/{svc} in namespace {env.Namespace} also selects the pods labelled version=canary", failed.Message);
        Assert.Contains("add version=stable to its spec.selector", failed.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal("StableServiceSelectsOtherPods", e.ErrorId);
        var deployments = await env.Admin.ListAsync(ResourceType.Deployment, env.Namespace);
        Assert.Equal([svc], deployments.Items.Select(d => d["metadata"]!["name"]!.GetValue<string>()));
        var services = await env.Admin.ListAsync(ResourceType.Service, env.Namespace);
        Assert.Equal([svc], services.Items.Select(d => d["metadata"]!["name"]!.GetValue<string>()));
        var configMaps = await env.Admin.ListAsync(ResourceType.ConfigMap, env.Namespace);
        Assert.DoesNotContain(configMaps.Items, c => c["metadata"]!["name"]!.GetValue<string>().StartsWith("kubestead-", StringComparison.Ordinal));
    }
}
