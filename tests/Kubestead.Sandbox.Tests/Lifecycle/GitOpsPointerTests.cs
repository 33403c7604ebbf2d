using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Sandbox.Tests.RealCluster.Differential;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>
/// Issue #19 item 11: the GitOps settings `gitops` emits, checked against the objects of a real rollout. Every pointer
/// resolves to a field of the live object, and every field Kubestead changed in an object that existed before (so an
/// object Git holds) lies under one of them: at a weight step (routes, replicas) and after promotion (stable's template).
/// </summary>
public class GitOpsPointerTests
{
    private static readonly ResourceType[] Types =
        [ResourceType.Deployment, ShopFixture.VirtualService, ShopFixture.GatewayHttpRoute, ShopFixture.LinkerdHttpRoute, ShopFixture.TrafficSplit,
            ResourceType.Ingress, ResourceType.Service];

    private sealed record Entry(string Group, string Kind, string Name, string Namespace, IReadOnlyList<string> Pointers)
    {
        public string Key => $"{Group}/{Kind}/{Name}";
    }

    private static Dictionary<string, JsonObject> Snapshot(SandboxEnvironment env) =>
        Types.SelectMany(t => env.Cluster.PeekAll(t, ShopFixture.Namespace).Select(o => (t, o)))
            .ToDictionary(x => $"{x.t.Group}/{x.t.Kind}/{x.o["metadata"]!["name"]}", x => x.o);

    private static List<Entry> ArgoEntries(string argo) =>
        Kubestead.Sandbox.Schema.YamlJson.Parse(argo)!["ignoreDifferences"]!.AsArray().Select(e => new Entry(
            e!["group"]!.GetValue<string>(), e["kind"]!.GetValue<string>(), e["name"]!.GetValue<string>(), e["namespace"]!.GetValue<string>(),
            e["jsonPointers"]!.AsArray().Select(p => p!.GetValue<string>()).ToList())).ToList();

    /// <summary>The HelmRelease and Kustomization documents' rules, as entries.</summary>
    private static List<List<Entry>> FluxEntries(string flux)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(flux));
        var docs = stream.Documents.Select(d => Kubestead.Sandbox.Schema.YamlJson.Parse(Serialize(d))).ToList();
        Assert.Equal(3, docs.Count);
        JsonArray Rules(JsonNode? doc) => (doc!["spec"]!["driftDetection"]?["ignore"] ?? doc["spec"]!["driftIgnoreRules"])!.AsArray();
        List<Entry> ToEntries(JsonArray rules) => rules.Select(r => new Entry(r!["target"]!["group"]!.GetValue<string>(), r["target"]!["kind"]!.GetValue<string>(),
            r["target"]!["name"]!.GetValue<string>(), r["target"]!["namespace"]!.GetValue<string>(), r["paths"]!.AsArray().Select(p => p!.GetValue<string>()).ToList())).ToList();
        Assert.Equal("HelmRelease", docs[0]!["kind"]!.GetValue<string>());
        Assert.Equal("Kustomization", docs[1]!["kind"]!.GetValue<string>());
        Assert.Equal("IfNotPresent", docs[2]!["metadata"]!["annotations"]!["kustomize.toolkit.fluxcd.io/ssa"]!.GetValue<string>());
        return [ToEntries(Rules(docs[0])), ToEntries(Rules(docs[1]))];
    }

    private static string Serialize(YamlDocument d)
    {
        var s = new YamlStream(d);
        var w = new StringWriter();
        s.Save(w, assignAnchors: false);
        return w.ToString();
    }

    /// <summary>JSON pointers of every leaf that differs (metadata and status are the server's and Kubestead's marks, not Git's fields).</summary>
    private static IEnumerable<string> Changed(JsonNode? before, JsonNode? after, string path = "")
    {
        if (JsonNode.DeepEquals(before, after)) yield break;
        if (before is JsonObject bo && after is JsonObject ao)
        {
            foreach (var key in bo.Select(p => p.Key).Union(ao.Select(p => p.Key)).Distinct())
            {
                if (path.Length == 0 && key is "metadata" or "status") continue;
                foreach (var c in Changed(bo[key], ao[key], $"{path}/{key.Replace("~", "~0").Replace("/", "~1")}")) yield return c;
            }
            yield break;
        }
        if (before is JsonArray ba && after is JsonArray aa && ba.Count == aa.Count)
        {
            for (var i = 0; i < ba.Count; i++)
                foreach (var c in Changed(ba[i], aa[i], $"{path}/{i}")) yield return c;
            yield break;
        }
        yield return path;
    }

    private static void AssertCovered(Dictionary<string, JsonObject> before, Dictionary<string, JsonObject> after, List<Entry> entries, string when)
    {
        foreach (var (key, obj) in after)
        {
            if (!before.TryGetValue(key, out var old)) continue; // created by Kubestead: not in Git
            var pointers = entries.Where(e => e.Key == key).SelectMany(e => e.Pointers).ToList();
            foreach (var path in Changed(old, obj))
                Assert.True(pointers.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal)),
                    $"{when}: Kubestead changed {key} {path}, which no ignoreDifferences pointer covers ({string.Join(", ", pointers)})");
        }
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("smi")]
    [InlineData("none")]
    [InlineData("nginx")]
    [InlineData("linkerd1")]
    public async Task The_emitted_pointers_resolve_and_cover_every_field_kubestead_writes(string mesh)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var before = Snapshot(env);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var spec = SandboxDemoTests.SpecFor(mesh).Replace("  policies:", "  scaleDownDelay: 0s\n  policies:");
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
        await Task.Run(() => svc.SetWeightAsync(ShopFixture.Namespace, ShopFixture.Name, 50));

        var g = await svc.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name);
        var argo = ArgoEntries(g.ArgoCdIgnoreDifferences);
        Assert.Contains(argo, e => e is { Kind: "Deployment", Name: "shop" } && e.Pointers.Contains("/spec/template"));
        var flux = FluxEntries(g.FluxGuidance);
        foreach (var rules in flux)
            Assert.Equal(argo.Select(e => (e.Key, e.Namespace, string.Join(",", e.Pointers))), rules.Select(e => (e.Key, e.Namespace, string.Join(",", e.Pointers))));

        var during = Snapshot(env);
        foreach (var e in argo)
        {
            Assert.True(during.TryGetValue(e.Key, out var live), $"ignoreDifferences names {e.Key}, which does not exist");
            Assert.Equal(ShopFixture.Namespace, e.Namespace);
            foreach (var p in e.Pointers)
                Assert.True(ScenarioContext.Pointer(live, p) is not null, $"{e.Key}: pointer {p} resolves to nothing");
        }
        AssertCovered(before, during, argo, "at 50%");

        var done = await Task.Run(() => svc.PromoteAsync(ShopFixture.Namespace, ShopFixture.Name, wait: true));
        Assert.Equal(RolloutPhase.Completed, done.Phase);
        var after = Snapshot(env);
        Assert.NotEqual(before["apps/Deployment/shop"]["spec"]!["template"]!.ToJsonString(), after["apps/Deployment/shop"]["spec"]!["template"]!.ToJsonString());
        AssertCovered(before, after, argo, "after promotion");
    }

    /// <summary>
    /// Issue #13: Linkerd 1.x's dentry lives in namerd and nginx's canary Ingress and Service are Kubestead's own, so no
    /// rule names a routing object (there is none in Git); the Deployment is still covered, and one line says why.
    /// </summary>
    [Theory]
    [InlineData("linkerd1", "# Routing: the dtab lives in namerd (http://127.0.0.1:4180/, dtab namespace 'shop', dentry /svc/shop), not in Kubernetes")]
    [InlineData("nginx", "# Routing: Kubestead creates and deletes the canary Ingress shop-canary and Service shop-canary; they are not in Git, and the stable Ingress shop is never written")]
    public async Task Meshes_whose_routing_is_not_in_git_get_rules_for_the_deployment_only(string mesh, string note)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false));

        var g = await svc.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name);
        var argo = ArgoEntries(g.ArgoCdIgnoreDifferences);
        Assert.Equal(["apps/Deployment/shop"], argo.Select(e => e.Key));
        Assert.Equal(["/spec/template"], argo[0].Pointers);
        foreach (var rules in FluxEntries(g.FluxGuidance)) Assert.Equal(["apps/Deployment/shop"], rules.Select(e => e.Key));
        Assert.StartsWith(note, g.ArgoCdIgnoreDifferences, StringComparison.Ordinal);
        Assert.StartsWith(note, g.FluxGuidance, StringComparison.Ordinal);
        Assert.Equal(["/spec/template"], g.ManagedFields);

        // With promotion weightOnly Kubestead writes no Git object at all: nothing to ignore, said so.
        var weightOnly = SandboxEnvironment.Create(mesh, "healthy");
        await using var svc2 = weightOnly.CreateService(NullRolloutObserver.Instance);
        var spec = SandboxDemoTests.SpecFor(mesh).Replace("  policies:\n", "  policies:\n    promotion: weightOnly\n");
        Assert.Contains("promotion: weightOnly", spec);
        await Task.Run(() => svc2.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
        var none = await svc2.GetGitOpsConfigAsync(ShopFixture.Namespace, ShopFixture.Name);
        Assert.DoesNotContain("ignoreDifferences", none.ArgoCdIgnoreDifferences);
        Assert.DoesNotContain("kind:", none.FluxGuidance);
        Assert.Contains("Nothing else to ignore", none.ArgoCdIgnoreDifferences);
        Assert.Empty(none.ManagedFields);
    }
}
