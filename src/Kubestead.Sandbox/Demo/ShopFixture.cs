using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;

namespace Kubestead.Sandbox.Demo;

/// <summary>The ready-made "shop" service the demo rolls out: Deployment, Service and the mesh's objects.</summary>
public static class ShopFixture
{
    public const string Namespace = "shop";
    public const string Name = "shop";
    public const string CanaryService = "shop-canary";

    /// <summary>What Kubestead names a created baseline (baseline: {create: true}) and its Service.</summary>
    public const string BaselineDeployment = "shop-baseline";
    public const string BaselineService = "shop-baseline";

    public static readonly ResourceType VirtualService = new("networking.istio.io", "v1", "virtualservices", "VirtualService");
    public static readonly ResourceType DestinationRule = new("networking.istio.io", "v1", "destinationrules", "DestinationRule");
    public static readonly ResourceType GatewayHttpRoute = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");
    public static readonly ResourceType LinkerdHttpRoute = new("policy.linkerd.io", "v1beta3", "httproutes", "HTTPRoute");
    public static readonly ResourceType TrafficSplit = new("split.smi-spec.io", "v1alpha4", "trafficsplits", "TrafficSplit");

    /// <summary>What a created baseline leaves in the shop namespace: its Deployment, its Service, the Istio subset and destination.</summary>
    public static IReadOnlyList<string> BaselineLeftovers(EmulatedCluster cluster)
    {
        var left = new List<string>();
        if (cluster.Peek(ResourceType.Deployment, Namespace, BaselineDeployment) is not null) left.Add($"Deployment {BaselineDeployment}");
        if (cluster.Peek(ResourceType.Service, Namespace, BaselineService) is not null) left.Add($"Service {BaselineService}");
        if (cluster.Peek(DestinationRule, Namespace, Name)?["spec"]?["subsets"] is JsonArray subsets
            && subsets.Any(x => x?["name"]?.GetValue<string>() == "baseline")) left.Add($"DestinationRule {Name} subset baseline");
        if (cluster.Peek(VirtualService, Namespace, Name)?["spec"]?["http"] is JsonArray http
            && http.Any(r => (r?["route"] as JsonArray)?.Any(d => d?["destination"]?["subset"]?.GetValue<string>() == "baseline") == true))
            left.Add($"VirtualService {Name} destination baseline");
        if (cluster.Peek(TrafficSplit, Namespace, Name)?["spec"]?["backends"] is JsonArray backends
            && backends.Any(b => b?["service"]?.GetValue<string>() == BaselineService)) left.Add($"TrafficSplit {Name} backend {BaselineService}");
        return left;
    }

    /// <summary>Stable replicas: enough without a mesh for a 10% first step (1/(9+1)).</summary>
    public static int StableReplicas(string mesh) => mesh == "none" ? 9 : 4;

    public static void Seed(EmulatedCluster cluster, string mesh)
    {
        // Registered CRDs say which versions are served; the fixture only fills in meshes no CRD was registered for.
        foreach (var t in new[] { VirtualService, DestinationRule, GatewayHttpRoute, LinkerdHttpRoute, TrafficSplit })
            if (!cluster.CustomTypes.Any(c => c.Group == t.Group && c.Plural == t.Plural)) cluster.CustomTypes.Add(t);
        cluster.Seed(ResourceType.Namespace, JsonNode.Parse($$$"""{"metadata":{"name":"{{{Namespace}}}"} }""")!.AsObject());
        cluster.Seed(ResourceType.Deployment, JsonNode.Parse($$$"""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"{{{Name}}}","namespace":"{{{Namespace}}}","labels":{"app":"shop"} },
             "spec":{"replicas":{{{StableReplicas(mesh)}}},
                     "selector":{"matchLabels":{"app":"shop","version":"stable"} },
                     "template":{"metadata":{"labels":{"app":"shop","version":"stable"} },
                                 "spec":{"containers":[{"name":"app","image":"registry.example.com/shop:1.9.0","ports":[{"containerPort":8080}]}]} } } }
            """)!.AsObject());
        // Without a mesh the Service spreads over every version's pods; with Linkerd/SMI "shop" is the stable backend.
        var selector = mesh is "none" or "istio" ? """{"app":"shop"}""" : """{"app":"shop","version":"stable"}""";
        cluster.Seed(ResourceType.Service, JsonNode.Parse($$$"""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{Name}}}","namespace":"{{{Namespace}}}"},
             "spec":{"selector":{{{selector}}},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]} }
            """)!.AsObject());
        if (mesh == "nginx") SeedIngress(cluster);
        if (mesh != "istio") return;
        cluster.Seed(VirtualService, JsonNode.Parse($$$"""
            {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"{{{Name}}}","namespace":"{{{Namespace}}}"},
             "spec":{"hosts":["shop"],
                     "http":[{"name":"primary",
                              "route":[{"destination":{"host":"shop","subset":"stable"},"weight":100},
                                       {"destination":{"host":"shop","subset":"canary"},"weight":0}],
                              "retries":{"attempts":3,"perTryTimeout":"2s","retryOn":"5xx,reset"},
                              "timeout":"10s"}]} }
            """)!.AsObject());
        cluster.Seed(DestinationRule, JsonNode.Parse($$$"""
            {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"{{{Name}}}","namespace":"{{{Namespace}}}"},
             "spec":{"host":"shop",
                     "trafficPolicy":{"connectionPool":{"http":{"http1MaxPendingRequests":100} } },
                     "subsets":[{"name":"stable","labels":{"version":"stable"} },{"name":"canary","labels":{"version":"canary"} }]} }
            """)!.AsObject());
    }

    /// <summary>The shop's public Ingress, served by ingress-nginx: the stable Ingress a nginx rollout derives its canary Ingress from.</summary>
    private static void SeedIngress(EmulatedCluster cluster) => cluster.Seed(ResourceType.Ingress, JsonNode.Parse($$$"""
        {"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
         "metadata":{"name":"{{{Name}}}","namespace":"{{{Namespace}}}",
                     "annotations":{"nginx.ingress.kubernetes.io/proxy-body-size":"8m","nginx.ingress.kubernetes.io/ssl-redirect":"true"} },
         "spec":{"ingressClassName":"nginx",
                 "tls":[{"hosts":["shop.example.com"],"secretName":"shop-tls"}],
                 "rules":[{"host":"shop.example.com",
                           "http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"{{{Name}}}","port":{"name":"http"} } } }]} }]} }
        """)!.AsObject());

    /// <summary>The canary's share of plain traffic as the mesh would route it right now.</summary>
    /// <summary>The demo's namerd dtab namespace and its routing before the rollout (examples/sandbox/linkerd1.yaml uses them).</summary>
    public const string DtabNamespace = "shop";

    public const string Dtab = """
        # shop: routing by namerd (Linkerd 1.x); Kubestead adds and removes only its own dentry.
        /k8s      => /#/io.l5d.k8s/shop/http ;
        /env/prod => /k8s ;
        /svc      => /env/prod ;   # every service resolves in prod
        """ + "\n";

    /// <summary>
    /// The route state the simulator uses, resolved as the data plane would: the backends the mesh's objects name, then each
    /// backend Service's selector to the ready pods it matches (see <see cref="Simulation.PodShareResolver"/>).
    /// </summary>
    public static RouteStateReader Reader(EmulatedCluster cluster, string mesh, Namerd.EmulatedNamerd? namerd = null) => () =>
    {
        if (mesh == "none")
        {
            // Without a mesh clients hold connections to the Service's endpoints: whatever pods its selector matches.
            var endpoints = new Simulation.PodShareResolver(cluster, Namespace).Endpoints(Name);
            return new Simulation.RouteState(0, endpoints.GetValueOrDefault(Name), endpoints.GetValueOrDefault($"{Name}-canary"), 0,
                endpoints.GetValueOrDefault(BaselineDeployment));
        }
        var shares = PodShares(cluster, mesh, namerd);
        return new Simulation.RouteState(shares.Canary, 0, 0, shares.Baseline);
    };

    /// <summary>The share of plain requests (no canary header) each version's pods receive right now.</summary>
    public static ShopPodShares PodShares(EmulatedCluster cluster, string mesh, Namerd.EmulatedNamerd? namerd = null)
    {
        var resolver = new Simulation.PodShareResolver(cluster, Namespace);
        var byDeployment = resolver.SharesByDeployment(Backends(cluster, mesh, namerd));
        return new ShopPodShares(byDeployment.GetValueOrDefault(Name), byDeployment.GetValueOrDefault($"{Name}-canary"),
            byDeployment.GetValueOrDefault(BaselineDeployment));
    }

    /// <summary>The Services (and Istio subsets) the mesh's objects send plain requests to, with their weights.</summary>
    public static IReadOnlyList<Simulation.WeightedBackend> Backends(EmulatedCluster cluster, string mesh, Namerd.EmulatedNamerd? namerd = null)
    {
        IReadOnlyList<Simulation.WeightedBackend> service = [new(Name, 1)];
        switch (mesh)
        {
            case "istio":
            {
                if (cluster.Peek(VirtualService, Namespace, Name) is not { } vs) return service;
                var subsets = (cluster.Peek(DestinationRule, Namespace, Name)?["spec"]?["subsets"] as JsonArray ?? new JsonArray()).OfType<JsonObject>().ToList();
                IReadOnlyDictionary<string, string> SubsetLabels(string? subset) =>
                    (subsets.FirstOrDefault(x => x["name"]?.GetValue<string>() == subset)?["labels"] as JsonObject)?
                        .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>())
                    // A destination naming a subset the DestinationRule lacks has no endpoint (Envoy answers 503).
                    ?? new Dictionary<string, string> { ["kubestead.io/undefined-subset"] = subset ?? "" };
                return Simulation.RouteShareReader.DestinationsOfVirtualService(vs).Select(d => new Simulation.WeightedBackend(
                    d.Destination["host"]?.GetValue<string>()?.Split('.')[0] ?? "", d.Weight,
                    d.Destination["subset"]?.GetValue<string>() is { } subset ? SubsetLabels(subset) : null)).ToList();
            }
            case "linkerd":
                return cluster.Peek(GatewayHttpRoute, Namespace, $"{Name}-kubestead") is { } route ? Simulation.RouteShareReader.BackendsOfHttpRoute(route) : service;
            case "smi":
                return cluster.Peek(TrafficSplit, Namespace, Name) is { } split ? Simulation.RouteShareReader.BackendsOfTrafficSplit(split) : service;
            case "nginx":
            {
                // ingress-nginx draws the canary by its weight first, then balances over that Service's endpoints.
                var canary = Simulation.RouteShareReader.FromCanaryIngress(cluster.Peek(ResourceType.Ingress, Namespace, $"{Name}-canary"));
                return [new(Name, 1 - canary), new(CanaryService, canary)];
            }
            case "linkerd1":
                return namerd?.Peek(DtabNamespace) is { } dtab
                       && Simulation.DtabRouteResolver.Resolve(Kubestead.Traffic.Dtabs.DtabDocument.Parse(dtab), $"/svc/{Name}", Namespace,
                           svc => cluster.Peek(ResourceType.Service, Namespace, svc) is not null) is { } byService
                    ? byService.Select(kv => new Simulation.WeightedBackend(kv.Key, kv.Value)).ToList()
                    : service;
            default:
                return service;
        }
    }
}

public delegate Simulation.RouteState RouteStateReader();
