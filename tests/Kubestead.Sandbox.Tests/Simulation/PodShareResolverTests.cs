using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Tests.Simulation;

/// <summary>Shares resolved through Service selectors to ready pods, as Envoy, Linkerd and ingress-nginx balance them.</summary>
public class PodShareResolverTests
{
    private static EmulatedCluster Cluster(string stableSelector)
    {
        var cluster = new EmulatedCluster();
        void Deployment(string name, string version, int ready) => cluster.Seed(ResourceType.Deployment, JsonNode.Parse($$$"""
            {"metadata":{"name":"{{{name}}}","namespace":"shop"},
             "spec":{"replicas":{{{ready}}},"selector":{"matchLabels":{"app":"shop","version":"{{{version}}}"} },
                     "template":{"metadata":{"labels":{"app":"shop","version":"{{{version}}}"}},"spec":{"containers":[{"name":"app","image":"x"}]} } },
             "status":{"readyReplicas":{{{ready}}}}}
            """)!.AsObject());
        void Service(string name, string selector) => cluster.Seed(ResourceType.Service, JsonNode.Parse($$$"""
            {"metadata":{"name":"{{{name}}}","namespace":"shop"},"spec":{"selector":{{{selector}}},"ports":[{"port":80}]}}
            """)!.AsObject());
        Deployment("shop", "stable", 4);
        Deployment("shop-canary", "canary", 1);
        Deployment("shop-baseline", "baseline", 1);
        Service("shop", stableSelector);
        Service("shop-canary", """{"app":"shop","version":"canary"}""");
        Service("shop-baseline", """{"app":"shop","version":"baseline"}""");
        return cluster;
    }

    [Fact]
    public void A_stable_Service_selecting_every_version_hands_part_of_the_stable_share_to_the_canary_and_baseline_pods()
    {
        var resolver = new PodShareResolver(Cluster("""{"app":"shop"}"""), "shop");
        // setWeight 0.5 as an HTTPRoute would carry it (995:5): the canary's pod also takes 1/6 of the stable share.
        var shares = resolver.SharesByDeployment([new WeightedBackend("shop", 995), new WeightedBackend("shop-canary", 5)]);
        Assert.Equal(0.005 + 0.995 / 6, shares["shop-canary"], 9);
        Assert.Equal(0.995 * 4 / 6, shares["shop"], 9);
        Assert.Equal(0.995 / 6, shares["shop-baseline"], 9);
    }

    [Fact]
    public void A_stable_Service_selecting_stable_pods_only_gives_each_version_its_weight()
    {
        var resolver = new PodShareResolver(Cluster("""{"app":"shop","version":"stable"}"""), "shop");
        var shares = resolver.SharesByDeployment([new WeightedBackend("shop", 60), new WeightedBackend("shop-canary", 20), new WeightedBackend("shop-baseline", 20)]);
        Assert.Equal(0.6, shares["shop"], 9);
        Assert.Equal(0.2, shares["shop-canary"], 9);
        Assert.Equal(0.2, shares["shop-baseline"], 9);
    }

    [Fact]
    public void An_Istio_subset_narrows_the_hosts_endpoints_and_a_backend_without_endpoints_drops_out()
    {
        var resolver = new PodShareResolver(Cluster("""{"app":"shop"}"""), "shop");
        var shares = resolver.SharesByDeployment([
            new WeightedBackend("shop", 90, new Dictionary<string, string> { ["version"] = "stable" }),
            new WeightedBackend("shop", 10, new Dictionary<string, string> { ["version"] = "canary" }),
            new WeightedBackend("shop", 50, new Dictionary<string, string> { ["version"] = "nothing-has-this" }),
        ]);
        Assert.Equal(0.9, shares["shop"], 9);
        Assert.Equal(0.1, shares["shop-canary"], 9);
        Assert.False(shares.ContainsKey("shop-baseline"));
        Assert.Equal(new Dictionary<string, int> { ["shop"] = 4, ["shop-canary"] = 1, ["shop-baseline"] = 1 }, resolver.Endpoints("shop"));
    }
}
