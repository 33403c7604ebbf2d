using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Schema;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Schema;

public class SchemaValidatorTests
{
    private static CrdDocument Crd(string file) => CrdDocument.Load(Path.Combine(SharedPaths.Crds!, file));

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    private const string VirtualService = """
        {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"shop","namespace":"web"},
         "spec":{"hosts":["shop"],"http":[{"name":"primary","route":[{"destination":{"host":"shop","subset":"stable"},"weight":90},
                 {"destination":{"host":"shop","subset":"canary"},"weight":10}],"retries":{"attempts":3,"perTryTimeout":"2s"},"timeout":"10s",
                 "fault":{"delay":{"percentage":{"value":0.1},"fixedDelay":"5s"}}}]}}
        """;

    [CrdFact]
    public void Every_shared_crd_loads_with_its_versions()
    {
        var files = Directory.GetFiles(SharedPaths.Crds!, "*.yaml");
        Assert.Equal(5, files.Length);
        Assert.Equal(["v1", "v1alpha3", "v1beta1"], Crd("istio-virtualservices.yaml").Versions.Select(v => v.Name).Order());
        Assert.Contains(Crd("smi-trafficsplits.yaml").Versions, v => v.Name == "v1alpha2");
        Assert.Contains(Crd("linkerd-policy-httproutes.yaml").Versions, v => v.Name == "v1beta3");
        Assert.Equal("gateway.networking.k8s.io", Crd("gateway-api-httproutes-standard.yaml").Group);
    }

    [CrdTheory]
    [InlineData("istio-virtualservices.yaml", "v1", VirtualService)]
    [InlineData("istio-destinationrules.yaml", "v1", """{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"shop"},"spec":{"host":"shop","subsets":[{"name":"stable","labels":{"version":"stable"}},{"name":"canary","labels":{"version":"canary"}}]}}""")]
    [InlineData("gateway-api-httproutes-standard.yaml", "v1", """{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"shop"},"spec":{"parentRefs":[{"group":"core","kind":"Service","name":"shop","port":80}],"rules":[{"matches":[{"headers":[{"name":"x-canary","value":"true","type":"Exact"}]}],"backendRefs":[{"name":"shop-canary","port":80}]},{"backendRefs":[{"name":"shop","port":80,"weight":999},{"name":"shop-canary","port":80,"weight":1}]}]}}""")]
    [InlineData("linkerd-policy-httproutes.yaml", "v1beta3", """{"apiVersion":"policy.linkerd.io/v1beta3","kind":"HTTPRoute","metadata":{"name":"shop"},"spec":{"parentRefs":[{"group":"core","kind":"Service","name":"shop","port":80}],"rules":[{"backendRefs":[{"name":"shop","port":80,"weight":90},{"name":"shop-canary","port":80,"weight":10}]}]}}""")]
    [InlineData("smi-trafficsplits.yaml", "v1alpha2", """{"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"shop"},"spec":{"service":"shop","backends":[{"service":"shop","weight":90},{"service":"shop-canary","weight":10}]}}""")]
    public void Real_world_objects_are_valid_in_strict_mode(string file, string version, string json)
    {
        var errors = SchemaValidator.Validate(Obj(json), Crd(file).SchemaFor(version), strict: true);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [CrdTheory]
    [InlineData("istio-virtualservices.yaml", "v1", "/spec/http/0/route/1/weight", "\"ten\"", "spec.http[0].route[1].weight", "must be of type integer")]
    [InlineData("istio-virtualservices.yaml", "v1", "/spec/http/0/route/1/destination", "{\"subset\":\"canary\"}", "spec.http[0].route[1].destination.host", "Required value")]
    [InlineData("istio-virtualservices.yaml", "v1", "/spec/http/0/route/1/wieght", "10", "spec.http[0].route[1].wieght", "unknown field")]
    public void Violations_name_the_field(string file, string version, string pointer, string value, string field, string message)
    {
        var obj = new JsonPatch([JsonPatchOperation.Add(pointer, JsonNode.Parse(value))]).Apply(Obj(VirtualService)).AsObject();
        var errors = SchemaValidator.Validate(obj, Crd(file).SchemaFor(version), strict: true);
        Assert.Contains(errors, e => e.Field == field && e.Message.Contains(message));
    }

    [CrdFact]
    public void Missing_required_and_bad_enum_are_reported_on_other_crds()
    {
        var split = SchemaValidator.Validate(Obj("""{"spec":{"backends":[{"service":"shop","weight":1}]}}"""), Crd("smi-trafficsplits.yaml").SchemaFor("v1alpha2"));
        Assert.Contains(split, e => e.Field == "spec.service" && e.Message == "Required value");
        var route = SchemaValidator.Validate(Obj("""{"spec":{"rules":[{"matches":[{"headers":[{"name":"x","value":"y","type":"Fuzzy"}]}]}]}}"""),
            Crd("gateway-api-httproutes-standard.yaml").SchemaFor("v1"));
        Assert.Contains(route, e => e.Field == "spec.rules[0].matches[0].headers[0].type" && e.Message.StartsWith("Unsupported value"));
    }

    [CrdFact]
    public async Task The_sandbox_rejects_an_invalid_object_with_422_naming_the_field_and_writes_nothing()
    {
        var cluster = new EmulatedCluster { StrictSchemas = false };
        cluster.RegisterCrd(Crd("istio-virtualservices.yaml"));
        var vs = Obj(VirtualService);
        vs["spec"]!["http"]![0]!["route"]![1]!["weight"] = "ten";
        var type = new ResourceType("networking.istio.io", "v1", "virtualservices", "VirtualService");
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => cluster.CreateAsync(type, "web", vs));
        Assert.Equal(422, e.StatusCode);
        Assert.Contains(e.Causes, c => c.Field == "spec.http[0].route[1].weight");
        Assert.Empty(cluster.PeekAll(type, "web"));
    }

    [CrdTheory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("smi")]
    [InlineData("none")]
    public async Task Every_object_kubestead_writes_in_a_rollout_validates_strictly_against_the_real_crds(string mesh)
    {
        foreach (var scenario in new[] { "healthy", "faulty" })
        {
            var result = await SandboxDemo.RunAsync(mesh, scenario, SandboxDemoTests.SpecFor(mesh), NullRolloutObserver.Instance, crdDirectory: SharedPaths.Crds);
            Assert.Equal(scenario == "healthy" ? RolloutPhase.Completed : RolloutPhase.Aborted, result.Rollout.Phase);
        }
    }
}
