using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster.Differential;

/// <summary>
/// Request scenarios run against both the sandbox and the real kube-apiserver. Each one is a function of the
/// backend's clients and a fresh namespace; it records what the server answered, never what it should answer:
/// the real server is the oracle.
/// </summary>
public static class DifferentialScenarios
{
    public static readonly ResourceType VirtualService = new("networking.istio.io", "v1", "virtualservices", "VirtualService");
    public static readonly ResourceType GatewayRoute = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
    public static readonly ResourceType SmiV1Alpha2 = new("split.smi-spec.io", "v1alpha2", "trafficsplits", "TrafficSplit");
    public static readonly ResourceType SmiV1Alpha4 = new("split.smi-spec.io", "v1alpha4", "trafficsplits", "TrafficSplit");
    public static readonly ResourceType Unknown = new("nothing.example.com", "v1", "widgets", "Widget");

    public static readonly IReadOnlyDictionary<string, Func<ScenarioContext, Task>> All = new Dictionary<string, Func<ScenarioContext, Task>>
    {
        ["create returns the stored object"] = async c =>
            await c.Step("create", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "v")))),
        ["get an existing object"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "v")));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["get a missing object is NotFound"] = async c =>
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "missing")),
        ["get in a missing namespace is NotFound"] = async c =>
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace + "-missing", "a")),
        ["create in a missing namespace is NotFound"] = async c =>
            await c.Step("create", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace + "-missing", ConfigMap("a"))),
        ["create a duplicate is AlreadyExists"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Step("create again", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "2"))));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["create carrying a resourceVersion is refused"] = async c =>
        {
            var cm = ConfigMap("a");
            cm["metadata"]!["resourceVersion"] = "12345";
            await c.Step("create", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, cm));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["re-creating a read object (with its resourceVersion) is refused before the duplicate check"] = async c =>
        {
            var read = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "v")));
            await c.Step("create read object", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, read));
        },
        ["create without a name is Invalid"] = async c =>
            await c.Step("create", () => c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, new JsonObject { ["data"] = new JsonObject { ["k"] = "v" } })),
        ["list by an equality label selector"] = async c =>
        {
            await SeedLabelled(c);
            await c.List("app=shop", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions("app=shop")));
            await c.List("app!=shop", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions("app!=shop")));
        },
        ["list by set-based label selectors"] = async c =>
        {
            await SeedLabelled(c);
            await c.List("tier in (web,api)", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions("tier in (web,api)")));
            await c.List("app=shop,!canary", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions("app=shop,!canary")));
            await c.List("tier notin (web)", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions("tier notin (web)")));
        },
        ["list pages with limit and continue"] = async c =>
        {
            foreach (var n in new[] { "e", "a", "d", "b", "c" })
                await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap(n));
            string? next = null;
            for (var page = 1; page <= 3; page++)
            {
                var token = next;
                var list = await c.List($"page {page}", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions(Limit: 2, Continue: token)));
                next = list?.Continue;
                if (string.IsNullOrEmpty(next)) break;
            }
        },
        ["list by a field selector on the name"] = async c =>
        {
            await SeedLabelled(c);
            await c.List("metadata.name=web", () => c.Api.ListAsync(ResourceType.ConfigMap, c.Namespace, new ListOptions(FieldSelector: "metadata.name=web")));
        },
        ["json patch replaces, adds and removes"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1"), ("gone", "x")));
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new JsonPatch([
                JsonPatchOperation.Test("/data/k", "1"),
                JsonPatchOperation.Replace("/data/k", "2"),
                JsonPatchOperation.Add("/data/new", "3"),
                JsonPatchOperation.Remove("/data/gone"),
            ])));
        },
        ["json patch with a failing test op is Invalid and writes nothing"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new JsonPatch([
                JsonPatchOperation.Test("/data/k", "0"),
                JsonPatchOperation.Replace("/data/k", "2"),
            ])));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["json patch pinned to a stale resourceVersion is Invalid"] = async c =>
        {
            var first = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["k"] = "2" } }));
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", first["metadata"]!["resourceVersion"]!.DeepClone()),
                JsonPatchOperation.Replace("/data/k", "3"),
            ])));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["json patch on a missing path is Invalid"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Step("remove missing", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new JsonPatch([JsonPatchOperation.Remove("/data/nope")])));
            await c.Step("replace missing", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new JsonPatch([JsonPatchOperation.Replace("/data/nope", "x")])));
        },
        ["json patch of a missing object is NotFound"] = async c =>
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "missing", new JsonPatch([JsonPatchOperation.Add("/data", new JsonObject())]))),
        ["removing the last annotation removes the map"] = async c =>
        {
            var cm = ConfigMap("a");
            cm["metadata"]!["annotations"] = new JsonObject { ["only"] = "one" };
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, cm);
            await c.Step("remove it", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a",
                new JsonPatch([JsonPatchOperation.Remove("/metadata/annotations/only")])), "/metadata/annotations", "/metadata/labels");
            await c.Step("empty labels", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a",
                new JsonPatch([JsonPatchOperation.Add("/metadata/labels", new JsonObject())])), "/metadata/labels");
        },
        ["merge patch sets and deletes keys"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("keep", "1"), ("drop", "2")));
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a",
                new MergePatch(new JsonObject { ["data"] = new JsonObject { ["drop"] = null, ["add"] = "3" } })));
        },
        ["replace with a stale resourceVersion is a Conflict"] = async c =>
        {
            var first = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["k"] = "2" } }));
            first["data"]!["k"] = "3";
            await c.Step("replace stale", () => c.Api.ReplaceAsync(ResourceType.ConfigMap, c.Namespace, "a", first));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["replace with the current resourceVersion"] = async c =>
        {
            var current = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            current["data"]!["k"] = "2";
            await c.Step("replace", () => c.Api.ReplaceAsync(ResourceType.ConfigMap, c.Namespace, "a", current));
        },
        ["replace of a custom resource without a resourceVersion"] = async c =>
        {
            await c.Api.CreateAsync(VirtualService, c.Namespace, VirtualServiceObject("vs", 100, 0));
            await c.Step("replace", () => c.Api.ReplaceAsync(VirtualService, c.Namespace, "vs", VirtualServiceObject("vs", 90, 10)));
        },
        ["delete with a stale uid precondition is a Conflict"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a"));
            await c.Do("delete", () => c.Api.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "a", new DeleteOptions(PreconditionUid: Guid.NewGuid().ToString())));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["delete with a stale resourceVersion precondition is a Conflict"] = async c =>
        {
            var first = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["k"] = "2" } }));
            await c.Do("delete", () => c.Api.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "a",
                new DeleteOptions(PreconditionResourceVersion: first["metadata"]!["resourceVersion"]!.GetValue<string>())));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["delete with matching preconditions removes the object"] = async c =>
        {
            var cm = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a"));
            await c.Do("delete", () => c.Api.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "a", new DeleteOptions(
                cm["metadata"]!["uid"]!.GetValue<string>(), cm["metadata"]!["resourceVersion"]!.GetValue<string>())));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
        },
        ["delete a missing object is NotFound"] = async c =>
            await c.Do("delete", () => c.Api.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "missing")),
        ["scale subresource reads and writes replicas"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.Deployment, c.Namespace, Deployment("web", 3));
            await c.Step("get scale", () => c.Api.GetSubresourceAsync(ResourceType.Deployment, c.Namespace, "web", "scale"), "/kind", "/apiVersion", "/spec", "/status/replicas");
            await c.Step("patch scale", () => c.Api.PatchSubresourceAsync(ResourceType.Deployment, c.Namespace, "web", "scale",
                new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 5 } })), "/kind", "/spec");
            await c.Step("get deployment", () => c.Api.GetAsync(ResourceType.Deployment, c.Namespace, "web"), "/spec/replicas", "/metadata/generation");
            await c.Step("scale of a missing deployment", () => c.Api.GetSubresourceAsync(ResourceType.Deployment, c.Namespace, "missing", "scale"));
        },
        ["status subresource writes status only"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.Deployment, c.Namespace, Deployment("web", 2));
            await c.Step("patch status", () => c.Api.PatchSubresourceAsync(ResourceType.Deployment, c.Namespace, "web", "status", new MergePatch(new JsonObject
            {
                ["spec"] = new JsonObject { ["replicas"] = 7 },
                ["status"] = new JsonObject { ["observedGeneration"] = 1, ["replicas"] = 2, ["readyReplicas"] = 2, ["availableReplicas"] = 2, ["updatedReplicas"] = 2 },
            })), "/spec/replicas", "/status", "/metadata/generation");
        },
        ["autoscaling/v2 HPAs: defaults, status subresource, main resource keeps status"] = async c =>
        {
            var hpa = Kubestead.Traffic.HpaGuard.HorizontalPodAutoscaler;
            JsonObject Hpa(string name, string extra) => JsonNode.Parse($$$"""
                {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"{{{name}}}"},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":10{{{extra}}}},
                 "status":{"currentReplicas":3,"desiredReplicas":5}}
                """)!.AsObject();
            await c.Step("create with defaults; status dropped", () => c.Api.CreateAsync(hpa, c.Namespace, Hpa("a", "")));
            await c.Step("create with a partial behavior", () => c.Api.CreateAsync(hpa, c.Namespace,
                Hpa("b", ""","minReplicas":2,"behavior":{"scaleDown":{"stabilizationWindowSeconds":60}}""")));
            await c.Step("create with an explicit metric", () => c.Api.CreateAsync(hpa, c.Namespace,
                Hpa("c", ""","minReplicas":3,"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"500Mi"}}}]""")));
            await c.Step("patch status", () => c.Api.PatchSubresourceAsync(hpa, c.Namespace, "a", "status", new MergePatch(new JsonObject
            {
                ["spec"] = new JsonObject { ["maxReplicas"] = 7 },
                ["status"] = new JsonObject { ["currentReplicas"] = 4, ["desiredReplicas"] = 6 },
            })));
            await c.Step("main resource keeps status", () => c.Api.PatchAsync(hpa, c.Namespace, "a", new MergePatch(new JsonObject
            {
                ["spec"] = new JsonObject { ["maxReplicas"] = 8 },
                ["status"] = new JsonObject { ["desiredReplicas"] = 9 },
            })));
            await c.List("list", () => c.Api.ListAsync(hpa, c.Namespace));
        },
        ["the main resource ignores status changes"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.Deployment, c.Namespace, Deployment("web", 2));
            await c.Step("patch", () => c.Api.PatchAsync(ResourceType.Deployment, c.Namespace, "web", new MergePatch(new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["touched"] = "yes" } },
                ["status"] = new JsonObject { ["readyReplicas"] = 2 },
            })), "/status", "/metadata/labels", "/metadata/generation");
        },
        ["watch from a resourceVersion replays later changes"] = async c =>
        {
            var created = await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "1")));
            await c.Api.PatchAsync(ResourceType.ConfigMap, c.Namespace, "a", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["k"] = "2" } }));
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("b"));
            await c.Api.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "a");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var seen = 0;
            try
            {
                await foreach (var e in c.Api.WatchAsync(ResourceType.ConfigMap, c.Namespace,
                                   new WatchOptions(ResourceVersion: created["metadata"]!["resourceVersion"]!.GetValue<string>()), cts.Token))
                {
                    c.Note($"event: {e.Type} {e.Object["metadata"]?["name"]} {ScenarioContext.Show(e.Object)}");
                    if (++seen == 3) break;
                }
            }
            catch (OperationCanceledException)
            {
                c.Note($"watch timed out after {seen} events");
            }
        },
        ["a VirtualService weight of the wrong type is Invalid"] = async c =>
        {
            var vs = VirtualServiceObject("vs", 100, 0);
            vs["spec"]!["http"]![0]!["route"]![0]!["weight"] = "all";
            await c.Step("create", () => c.Api.CreateAsync(VirtualService, c.Namespace, vs));
        },
        ["a VirtualService weight beyond int32 is stored (integer formats are not enforced)"] = async c =>
        {
            var vs = VirtualServiceObject("vs", 100, 0);
            vs["spec"]!["http"]![0]!["route"]![0]!["weight"] = 5_000_000_000L;
            await c.Step("create", () => c.Api.CreateAsync(VirtualService, c.Namespace, vs));
        },
        ["an HTTPRoute backend weight out of range is Invalid"] = async c =>
        {
            var route = HttpRoute("route", 100, 0);
            await c.Step("create valid", () => c.Api.CreateAsync(GatewayRoute, c.Namespace, route));
            await c.Step("weight above the maximum", () => c.Api.PatchAsync(GatewayRoute, c.Namespace, "route",
                new JsonPatch([JsonPatchOperation.Replace("/spec/rules/0/backendRefs/1/weight", 1_000_001)])));
            await c.Step("negative weight", () => c.Api.PatchAsync(GatewayRoute, c.Namespace, "route",
                new JsonPatch([JsonPatchOperation.Replace("/spec/rules/0/backendRefs/1/weight", -1)])));
            await c.Step("get", () => c.Api.GetAsync(GatewayRoute, c.Namespace, "route"));
        },
        ["a custom resource keeps every field its schema knows"] = async c =>
        {
            var vs = VirtualServiceObject("vs", 90, 10);
            vs["spec"]!["http"]![0]!["retries"] = new JsonObject { ["attempts"] = 3, ["perTryTimeout"] = "2s", ["retryOn"] = "5xx" };
            vs["spec"]!["http"]![0]!["timeout"] = "10s";
            await c.Step("create", () => c.Api.CreateAsync(VirtualService, c.Namespace, vs));
        },
        ["unknown fields of a custom resource are pruned"] = async c =>
        {
            var vs = VirtualServiceObject("vs", 100, 0);
            vs["spec"]!["http"]![0]!["unknownSetting"] = true;
            vs["spec"]!["notAField"] = new JsonObject { ["x"] = 1 };
            await c.Step("create", () => c.Api.CreateAsync(VirtualService, c.Namespace, vs));
        },
        ["a version the CRD does not serve is NotFound"] = async c =>
        {
            await c.Step("create v1alpha2", () => c.Api.CreateAsync(SmiV1Alpha2, c.Namespace, TrafficSplit(SmiV1Alpha2)));
            await c.List("list v1alpha2", () => c.Api.ListAsync(SmiV1Alpha2, c.Namespace));
            await c.Step("create v1alpha4", () => c.Api.CreateAsync(SmiV1Alpha4, c.Namespace, TrafficSplit(SmiV1Alpha4)));
        },
        ["an Ingress canary's annotations are JSON-patched, pinned to its resourceVersion, and it is deleted"] = async c =>
        {
            var created = await c.Step("create", () => c.Api.CreateAsync(ResourceType.Ingress, c.Namespace, IngressObject("shop-canary", canary: true)),
                "/spec", "/metadata/annotations");
            if (created is null) return;
            const string weight = "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight";
            await c.Step("patch weight", () => c.Api.PatchAsync(ResourceType.Ingress, c.Namespace, "shop-canary", new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", created["metadata"]!["resourceVersion"]!.DeepClone()),
                JsonPatchOperation.Add(weight, "25"),
            ])), "/metadata/annotations");
            await c.Step("stale patch", () => c.Api.PatchAsync(ResourceType.Ingress, c.Namespace, "shop-canary", new JsonPatch([
                JsonPatchOperation.Test("/metadata/resourceVersion", created["metadata"]!["resourceVersion"]!.DeepClone()),
                JsonPatchOperation.Add(weight, "50"),
            ])), "/metadata/annotations");
            await c.Do("delete", () => c.Api.DeleteAsync(ResourceType.Ingress, c.Namespace, "shop-canary",
                new DeleteOptions(PreconditionUid: created["metadata"]!["uid"]!.GetValue<string>())));
            await c.Step("get", () => c.Api.GetAsync(ResourceType.Ingress, c.Namespace, "shop-canary"));
            await c.List("list", () => c.Api.ListAsync(ResourceType.Ingress, c.Namespace));
        },
        ["an Ingress is validated: pathType, backend port, class annotation against ingressClassName"] = async c =>
        {
            var noPathType = IngressObject("a", canary: false);
            noPathType["spec"]!["rules"]![0]!["http"]!["paths"]![0]!.AsObject().Remove("pathType");
            await c.Step("no pathType", () => c.Api.CreateAsync(ResourceType.Ingress, c.Namespace, noPathType), "/spec");
            var noPort = IngressObject("b", canary: false);
            noPort["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["backend"]!["service"]!.AsObject().Remove("port");
            await c.Step("no port", () => c.Api.CreateAsync(ResourceType.Ingress, c.Namespace, noPort), "/spec");
            var classes = IngressObject("c", canary: false);
            classes["metadata"]!["annotations"] = new JsonObject { ["kubernetes.io/ingress.class"] = "other" };
            await c.Step("class mismatch", () => c.Api.CreateAsync(ResourceType.Ingress, c.Namespace, classes), "/spec");
            var ok = await c.Step("valid", () => c.Api.CreateAsync(ResourceType.Ingress, c.Namespace, IngressObject("d", canary: false)), "/spec");
            if (ok is null) return;
            await c.Step("patch away the pathType", () => c.Api.PatchAsync(ResourceType.Ingress, c.Namespace, "d", new JsonPatch([
                JsonPatchOperation.Remove("/spec/rules/0/http/paths/0/pathType"),
            ])), "/spec");
        },
        ["an unknown API group is NotFound"] = async c =>
            await c.Step("get", () => c.Api.GetAsync(Unknown, c.Namespace, "w")),
        ["the limited user cannot write"] = async c =>
        {
            await c.Step("create configmap", () => c.Limited.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a")));
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("b"));
            await c.Step("patch configmap", () => c.Limited.PatchAsync(ResourceType.ConfigMap, c.Namespace, "b",
                new MergePatch(new JsonObject { ["data"] = new JsonObject { ["k"] = "v" } })));
            await c.Do("delete configmap", () => c.Limited.DeleteAsync(ResourceType.ConfigMap, c.Namespace, "b"));
            await c.Step("create lease", () => c.Limited.CreateAsync(ResourceType.Lease, c.Namespace, Lease("l")));
        },
        ["the limited user reads what it may and nothing else"] = async c =>
        {
            await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, ConfigMap("a", ("k", "v")));
            await c.Step("get configmap", () => c.Limited.GetAsync(ResourceType.ConfigMap, c.Namespace, "a"));
            await c.List("list configmaps", () => c.Limited.ListAsync(ResourceType.ConfigMap, c.Namespace));
            await c.Step("get missing configmap", () => c.Limited.GetAsync(ResourceType.ConfigMap, c.Namespace, "missing"));
            await c.Step("get secret", () => c.Limited.GetAsync(ResourceType.Secret, c.Namespace, "s"));
            await c.List("list pods", () => c.Limited.ListAsync(ResourceType.Pod, c.Namespace));
        },
        ["a Lease is taken over with a guarded replace"] = async c =>
        {
            var lease = await c.Step("create", () => c.Api.CreateAsync(ResourceType.Lease, c.Namespace, Lease("l")));
            var next = lease!.DeepClone().AsObject();
            next["spec"]!["holderIdentity"] = "second";
            await c.Step("replace", () => c.Api.ReplaceAsync(ResourceType.Lease, c.Namespace, "l", next));
            await c.Step("replace again with the old version", () => c.Api.ReplaceAsync(ResourceType.Lease, c.Namespace, "l", next));
        },
    };

    public static IEnumerable<object[]> Names => All.Keys.Select(k => new object[] { k });

    private static async Task SeedLabelled(ScenarioContext c)
    {
        await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, Labelled("web", ("app", "shop"), ("tier", "web")));
        await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, Labelled("api", ("app", "shop"), ("tier", "api")));
        await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, Labelled("canary", ("app", "shop"), ("tier", "web"), ("canary", "true")));
        await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, Labelled("db", ("app", "store"), ("tier", "db")));
        await c.Api.CreateAsync(ResourceType.ConfigMap, c.Namespace, Labelled("plain"));
    }

    private static JsonObject Labelled(string name, params (string Key, string Value)[] labels)
    {
        var cm = ConfigMap(name);
        var l = new JsonObject();
        foreach (var (k, v) in labels) l[k] = v;
        if (l.Count > 0) cm["metadata"]!["labels"] = l;
        return cm;
    }

    /// <summary>A production-shaped Ingress of class nginx for host shop.example.com; as a canary it sends to shop-canary.</summary>
    public static JsonObject IngressObject(string name, bool canary)
    {
        var annotations = canary
            ? new JsonObject { ["nginx.ingress.kubernetes.io/canary"] = "true", ["nginx.ingress.kubernetes.io/canary-weight"] = "0" }
            : new JsonObject();
        return new JsonObject
        {
            ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "Ingress",
            ["metadata"] = new JsonObject { ["name"] = name, ["annotations"] = annotations },
            ["spec"] = new JsonObject
            {
                ["ingressClassName"] = "nginx",
                ["rules"] = new JsonArray(new JsonObject
                {
                    ["host"] = "shop.example.com",
                    ["http"] = new JsonObject
                    {
                        ["paths"] = new JsonArray(new JsonObject
                        {
                            ["path"] = "/", ["pathType"] = "Prefix",
                            ["backend"] = new JsonObject { ["service"] = new JsonObject { ["name"] = canary ? "shop-canary" : "shop", ["port"] = new JsonObject { ["name"] = "http" } } },
                        }),
                    },
                }),
            },
        };
    }

    public static JsonObject ConfigMap(string name, params (string Key, string Value)[] data)
    {
        var cm = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name } };
        if (data.Length > 0)
        {
            var d = new JsonObject();
            foreach (var (k, v) in data) d[k] = v;
            cm["data"] = d;
        }
        return cm;
    }

    public static JsonObject Deployment(string name, int replicas) => JsonNode.Parse($$$$"""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"{{{{name}}}}","labels":{"app":"{{{{name}}}}"}},
         "spec":{"replicas":{{{{replicas}}}},"selector":{"matchLabels":{"app":"{{{{name}}}}"}},
                 "template":{"metadata":{"labels":{"app":"{{{{name}}}}"}},"spec":{"containers":[{"name":"app","image":"registry.example.com/{{{{name}}}}:1"}]} } } }
        """)!.AsObject();

    public static JsonObject VirtualServiceObject(string name, int stable, int canary) => JsonNode.Parse($$$$"""
        {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"{{{{name}}}}"},
         "spec":{"hosts":["shop"],"http":[{"name":"primary","route":[
            {"destination":{"host":"shop","subset":"stable"},"weight":{{{{stable}}}}},
            {"destination":{"host":"shop","subset":"canary"},"weight":{{{{canary}}}}}]}]}}
        """)!.AsObject();

    public static JsonObject HttpRoute(string name, int stable, int canary) => JsonNode.Parse($$$$"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"{{{{name}}}}"},
         "spec":{"parentRefs":[{"group":"core","kind":"Service","name":"shop","port":80}],
                 "rules":[{"backendRefs":[{"name":"shop","port":80,"weight":{{{{stable}}}}},{"name":"shop-canary","port":80,"weight":{{{{canary}}}}}]}]}}
        """)!.AsObject();

    private static JsonObject TrafficSplit(ResourceType type) => JsonNode.Parse($$$$"""
        {"apiVersion":"{{{{type.ApiVersion}}}}","kind":"TrafficSplit","metadata":{"name":"split"},
         "spec":{"service":"shop","backends":[{"service":"shop","weight":100},{"service":"shop-canary","weight":0}]}}
        """)!.AsObject();

    private static JsonObject Lease(string name) => JsonNode.Parse($$$$"""
        {"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"{{{{name}}}}"},
         "spec":{"holderIdentity":"first","leaseDurationSeconds":60}}
        """)!.AsObject();
}
