using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;


namespace Kubestead.Sandbox.Tests.Server;

/// <summary>
/// Issue 16 on a real kube-apiserver 1.32.6 whose SMI TrafficSplit CRD (../shared/crds) serves only v1alpha4: the
/// preflight names the served versions and writes nothing; a start failing at any of its writes leaves nothing; a
/// failed undo leaves a Failed rollout that abort finishes; a second rollout after a failed one works.
/// </summary>
public class StartTransactionRealClusterTests
{
    private static readonly ResourceType SplitV4 = new("split.smi-spec.io", "v1alpha4", "trafficsplits", "TrafficSplit");

    /// <summary>The one place a client for the real cluster is made (KubernetesClient today; the official package's adapter later).</summary>
    private static IKubernetesApi Client(string? context = null) => RealCluster.RealCluster.Connect(RealCluster.RealCluster.Kubeconfig, context);

    private static KubesteadService Service(IKubernetesApi api, string driver = "test") => new(api, new KubesteadServiceOptions
    {
        Clock = TimeProvider.System,
        Observer = NullRolloutObserver.Instance,
        Driver = new DriverIdentity(driver, "realcluster", null, driver),
        PollInterval = TimeSpan.FromSeconds(1),
    });

    private static string Spec(string ns, string mesh, string smiVersion = "v1alpha4") => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata:
          name: checkout
          namespace: {ns}
        spec:
          service: checkout-service
          meshProvider: {mesh}
        {MeshSection(mesh, smiVersion)}  stable:
            deployment: checkout
          canary:
            image: registry.example.com/checkout:2.0.0
          steps:
            - setWeight: 20
            - pause: {"{}"}
        """;

    private static string MeshSection(string mesh, string smiVersion) => mesh switch
    {
        "smi" => $"  smi:\n    apiVersion: split.smi-spec.io/{smiVersion}\n    canaryService: checkout-service-canary\n",
        "istio" => "  istio:\n    virtualService:\n      name: checkout-service\n      route: primary\n    destinationRule:\n      name: checkout-service\n",
        "linkerd" => "  linkerd:\n    apiGroup: gateway.networking.k8s.io\n    canaryService: checkout-service-canary\n",
        _ => "",
    };

    private static readonly ResourceType VirtualService = new("networking.istio.io", "v1", "virtualservices", "VirtualService");
    private static readonly ResourceType DestinationRule = new("networking.istio.io", "v1", "destinationrules", "DestinationRule");
    private static readonly ResourceType HttpRoute = new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute");

    /// <summary>The Istio objects a user would have before the first rollout (subsets stable and canary).</summary>
    private static async Task SeedIstioAsync(IKubernetesApi api, string ns)
    {
        await api.CreateAsync(VirtualService, ns, JsonNode.Parse("""
            {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"checkout-service"},
             "spec":{"hosts":["checkout-service"],
                     "http":[{"name":"primary","route":[{"destination":{"host":"checkout-service","subset":"stable"},"weight":100},
                                                        {"destination":{"host":"checkout-service","subset":"canary"},"weight":0}],
                              "timeout":"10s"}]}}
            """)!.AsObject());
        await api.CreateAsync(DestinationRule, ns, JsonNode.Parse("""
            {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"checkout-service"},
             "spec":{"host":"checkout-service","subsets":[{"name":"stable","labels":{"version":"stable"}},{"name":"canary","labels":{"version":"canary"}}]}}
            """)!.AsObject());
    }

    /// <summary>
    /// A fresh namespace with the checkout Deployment (marked ready: the server has no controllers) and Service, which selects
    /// stable's pods only as SMI's stable backend must (issue #25).
    /// </summary>
    private static async Task<string> SeedAsync(IKubernetesApi api, string? mesh = null)
    {
        var ns = await Kubestead.Tests.Shared.RealApiServer.CreateNamespaceAsync(api, "ks16", maxLength: 20);
        await api.CreateAsync(ResourceType.Deployment, ns, JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"checkout","labels":{"app":"checkout"}},
             "spec":{"replicas":4,"selector":{"matchLabels":{"app":"checkout","version":"stable"}},
                     "template":{"metadata":{"labels":{"app":"checkout","version":"stable"}},
                                 "spec":{"containers":[{"name":"app","image":"registry.example.com/checkout:1.0.0"}]}}}}
            """)!.AsObject());
        await api.PatchSubresourceAsync(ResourceType.Deployment, ns, "checkout", "status", new MergePatch(JsonNode.Parse(
            """{"status":{"observedGeneration":1,"replicas":4,"readyReplicas":4,"availableReplicas":4,"updatedReplicas":4}}""")!.AsObject()));
        var service = JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"checkout-service"},
             "spec":{"selector":{"app":"checkout","version":"stable"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]}}
            """)!.AsObject();
        // Without a mesh the canary's share is its pods behind this one Service, so it must select every version's pods.
        if (mesh == "none") service["spec"]!["selector"]!.AsObject().Remove("version");
        await api.CreateAsync(ResourceType.Service, ns, service);
        return ns;
    }

    /// <summary>Every object of the kinds a rollout touches, with its resourceVersion: equal snapshots mean no write at all.</summary>
    private static async Task<SortedDictionary<string, string>> SnapshotAsync(IKubernetesApi api, string ns)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in new[] { ResourceType.ConfigMap, ResourceType.Lease, ResourceType.Deployment, ResourceType.Service, SplitV4, VirtualService, DestinationRule, HttpRoute })
            foreach (var o in (await api.ListAsync(type, ns)).Items)
                result[$"{type.QualifiedName}/{o["metadata"]!["name"]}"] = o["metadata"]!["resourceVersion"]!.GetValue<string>();
        return result;
    }

    private static void AssertSame(SortedDictionary<string, string> before, SortedDictionary<string, string> after, string context) =>
        Assert.True(before.SequenceEqual(after),
            $"{context}: before [{string.Join(", ", before.Select(kv => $"{kv.Key}@{kv.Value}"))}] after [{string.Join(", ", after.Select(kv => $"{kv.Key}@{kv.Value}"))}]");

    [RealClusterFact]
    public async Task Case1_and_2_validate_and_start_name_the_served_versions_and_write_nothing()
    {
        await using var api = (IAsyncDisposable)Client();
        var client = (IKubernetesApi)api;
        var ns = await SeedAsync(client);
        var before = await SnapshotAsync(client, ns);
        await using var svc = Service(Client());

        var report = await svc.TestAsync(new StartRequest { SpecYaml = Spec(ns, "smi", "v1alpha2") }, checkCluster: true);
        Assert.False(report.IsValid);
        Assert.Contains(report.Checks, c => c is { Check: "crd", Outcome: CheckOutcome.Failed }
            && c.Message == "spec.smi.apiVersion: the cluster does not serve trafficsplits.split.smi-spec.io/v1alpha2; it serves v1alpha4; set spec.smi.apiVersion: split.smi-spec.io/v1alpha4");

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(ns, "smi", "v1alpha2") }, wait: false));
        Assert.Equal("ApiVersionNotServed", e.ErrorId);
        Assert.Contains("it serves v1alpha4", e.Message);
        AssertSame(before, await SnapshotAsync(client, ns), "after the failed preflights");

        // (d) a request for the unserved version, in words rather than a bare 404.
        var split = JsonNode.Parse("""{"metadata":{"name":"checkout-service"},"spec":{"service":"checkout-service","backends":[{"service":"checkout-service","weight":100}]}}""")!.AsObject();
        var worded = await Assert.ThrowsAsync<DescribedApiException>(() => new DescribedKubernetesApi(client).CreateAsync(SplitV4 with { Version = "v1alpha2" }, ns, split));
        Assert.True(worded.IsNotFound);
        Assert.Equal($"creating the TrafficSplit checkout-service (split.smi-spec.io/v1alpha2) in namespace {ns}: the cluster does not serve this version; it serves v1alpha4", worded.Message);

        var ok = await svc.TestAsync(new StartRequest { SpecYaml = Spec(ns, "smi") }, checkCluster: true);
        Assert.True(ok.IsValid, string.Join("\n", ok.Checks));
    }

    [RealClusterFact]
    public async Task Permissions_are_checked_before_any_write()
    {
        await using var admin = (IAsyncDisposable)Client();
        var ns = await SeedAsync((IKubernetesApi)admin);
        var before = await SnapshotAsync((IKubernetesApi)admin, ns);
        await using var svc = Service(Client("limited")); // may read, may not write
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(ns, "smi") }, wait: false));
        Assert.Equal(KubesteadErrorKind.PermissionDenied, e.Kind);
        Assert.Contains($"create configmaps in namespace {ns}", e.Message);
        Assert.Contains($"create trafficsplits.split.smi-spec.io in namespace {ns}", e.Message);
        Assert.DoesNotContain($"get deployments.apps in namespace {ns}", e.Message);
        AssertSame(before, await SnapshotAsync((IKubernetesApi)admin, ns), "after a preflight without permissions");
    }

    [RealClusterFact]
    public async Task A_start_failing_at_any_of_its_writes_leaves_nothing_and_a_second_start_works()
    {
        await using var admin = (IAsyncDisposable)Client();
        var client = (IKubernetesApi)admin;
        foreach (var mesh in new[] { "smi", "none", "istio", "linkerd" })
        {
            var countNs = await SeedAsync(client, mesh);
            if (mesh == "istio") await SeedIstioAsync(client, countNs);
            var counter = new FailingWriteApi(Client());
            await using (var svc = Service(counter))
                Assert.Equal(RolloutPhase.Progressing, (await svc.StartAsync(new StartRequest { SpecYaml = Spec(countNs, mesh) }, wait: false)).Phase);
            var clean = counter.Writes.ToList();
            Assert.True(clean.Count >= 5, string.Join("; ", clean));
            foreach (var afterApply in new[] { false, true })
                for (var n = 1; n < clean.Count; n++) // the last write is the Lease release after success
                {
                    var ns = await SeedAsync(client, mesh);
                    if (mesh == "istio") await SeedIstioAsync(client, ns);
                    var before = await SnapshotAsync(client, ns);
                    var context = $"{mesh}: write {n} ({clean[n - 1]}) failed {(afterApply ? "after" : "before")} applying";
                    await using var svc = Service(new FailingWriteApi(Client()) { FailWrite = n, AfterApply = afterApply });
                    try
                    {
                        await svc.StartAsync(new StartRequest { SpecYaml = Spec(ns, mesh) }, wait: false);
                        Assert.True(afterApply && n == 1, $"{context}: the start succeeded"); // a lost Lease-create answer is recognised
                        await svc.AbortAsync(ns, "checkout", waitForCleanup: true);
                        var aborted = await SnapshotAsync(client, ns);
                        aborted.Remove("configmaps/kubestead-checkout");
                        Assert.Equal(before.Keys, aborted.Keys);
                        continue;
                    }
                    catch (StartUndoneException e)
                    {
                        Assert.True(e.Leftovers.Count == 0, $"{context}: {e.Message}");
                        Assert.Contains("start undone, nothing left behind", e.Message);
                    }
                    var undone = await SnapshotAsync(client, ns);
                    Assert.True(before.Keys.SequenceEqual(undone.Keys), $"{context}: objects before [{string.Join(", ", before.Keys)}] after [{string.Join(", ", undone.Keys)}]");
                    if (mesh == "istio")
                    {
                        // The VirtualService is the user's: after the undo it carries no trace of Kubestead.
                        var vs = await client.GetAsync(VirtualService, ns, "checkout-service");
                        Assert.Null(vs["metadata"]!["annotations"]?["kubestead.io/rollout"]);
                        Assert.Equal(0, vs["spec"]!["http"]![0]!["route"]![1]!["weight"]!.GetValue<int>());
                    }
                    await Assert.ThrowsAsync<RolloutNotFoundException>(() => svc.AbortAsync(ns, "checkout"));
                    await using var second = Service(Client(), "second");
                    var again = await second.StartAsync(new StartRequest { SpecYaml = Spec(ns, mesh) }, wait: false);
                    Assert.True(again.Phase == RolloutPhase.Progressing, $"{context}: the second start is {again.Phase}: {again.Message}");
                }
        }
    }

    [RealClusterFact]
    public async Task Case3_and_4_a_failed_undo_leaves_a_Failed_rollout_that_abort_finishes_then_a_rollout_without_a_mesh_works()
    {
        await using var admin = (IAsyncDisposable)Client();
        var client = (IKubernetesApi)admin;
        var ns = await SeedAsync(client);
        var before = await SnapshotAsync(client, ns);
        var counter = new FailingWriteApi(Client());
        var probeNs = await SeedAsync(client);
        await using (var probe = Service(counter))
            await probe.StartAsync(new StartRequest { SpecYaml = Spec(probeNs, "smi") }, wait: false);
        var splitCreate = counter.Writes.IndexOf("CREATE trafficsplits/checkout-service") + 1;
        Assert.True(splitCreate > 0, string.Join("; ", counter.Writes));

        // The TrafficSplit create fails and the undo cannot delete the canary Service: the rollout is Failed, listing it.
        await using (var svc = Service(new FailingWriteApi(Client()) { FailWrite = splitCreate, FailDeletesOf = "services/checkout-service-canary" }))
        {
            var e = await Assert.ThrowsAsync<StartUndoneException>(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(ns, "smi") }, wait: false));
            Assert.Contains(e.Leftovers, l => l.StartsWith("Service checkout-service-canary (v1)", StringComparison.Ordinal));
            Assert.Contains($"kubestead abort checkout -n {ns}", e.Message);
        }
        await using var user = Service(Client(), "user");
        Assert.Equal(RolloutPhase.Failed, (await user.GetAsync(ns, "checkout")).Phase);

        // Case 3: abort skips the TrafficSplit that never existed and removes the canary objects.
        var aborted = await user.AbortAsync(ns, "checkout", waitForCleanup: true);
        Assert.Equal(RolloutPhase.Failed, aborted.Phase);
        var after = await SnapshotAsync(client, ns);
        after.Remove("configmaps/kubestead-checkout");
        AssertSame(before, after, "after abort");
        await user.AbortAsync(ns, "checkout", waitForCleanup: true); // idempotent

        // Case 4: a rollout of the same service without a mesh now starts (its Service now selects every version's pods,
        // as a no-mesh rollout needs).
        await client.PatchAsync(ResourceType.Service, ns, "checkout-service",
            new MergePatch(JsonNode.Parse("""{"spec":{"selector":{"version":null}}}""")!.AsObject()));
        var none = await user.StartAsync(new StartRequest { SpecYaml = Spec(ns, "none") }, wait: false);
        Assert.Equal(RolloutPhase.Progressing, none.Phase);
        Assert.NotNull(await client.GetAsync(ResourceType.Deployment, ns, "checkout-canary"));
        await user.AbortAsync(ns, "checkout", waitForCleanup: true);
        var end = await SnapshotAsync(client, ns);
        end.Remove("configmaps/kubestead-checkout");
        Assert.Equal(before.Keys, end.Keys);
    }
}
