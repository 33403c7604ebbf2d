using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// Issue 16 on the emulated cluster: the preflight writes nothing and names the served versions; a start that fails
/// at any of its writes leaves nothing behind; an unfinished undo leaves a Failed rollout that abort finishes; a
/// second rollout after a failed one works.
/// </summary>
public class StartTransactionTests
{
    private const string Ns = ShopFixture.Namespace;

    internal static string SmiSpec(string version) =>
        SandboxDemoTests.SpecFor("smi").Replace("split.smi-spec.io/v1alpha4", $"split.smi-spec.io/{version}", StringComparison.Ordinal);

    /// <summary>Every object in the cluster with the fields a rollout may change (labels, annotations, spec, data), keyed by kind and name.</summary>
    internal static SortedDictionary<string, string> Snapshot(EmulatedCluster cluster)
    {
        var types = new[] { ResourceType.Deployment, ResourceType.Service, ResourceType.ConfigMap, ResourceType.Lease, ResourceType.Ingress }.Concat(cluster.CustomTypes).Distinct();
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in types)
            foreach (var o in cluster.PeekAll(type, Ns))
            {
                var md = o["metadata"]!;
                var view = new JsonObject
                {
                    ["labels"] = md["labels"]?.DeepClone(), ["annotations"] = md["annotations"]?.DeepClone(),
                    ["spec"] = o["spec"]?.DeepClone(), ["data"] = o["data"]?.DeepClone(),
                };
                result[$"{type.QualifiedName}/{md["name"]}"] = view.ToJsonString();
            }
        return result;
    }

    internal static void AssertSameObjects(SortedDictionary<string, string> before, SortedDictionary<string, string> after, string context)
    {
        var extra = after.Keys.Except(before.Keys).ToList();
        var missing = before.Keys.Except(after.Keys).ToList();
        var changed = before.Keys.Intersect(after.Keys).Where(k => before[k] != after[k]).Select(k => $"{k}: {before[k]} -> {after[k]}").ToList();
        Assert.True(extra.Count + missing.Count + changed.Count == 0,
            $"{context}: left behind [{string.Join(", ", extra)}], removed [{string.Join(", ", missing)}], changed [{string.Join("; ", changed)}]");
    }

    private static async Task<IReadOnlyList<string>> WritesOfACleanStartAsync(string mesh, string spec)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var before = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
        Assert.Equal(RolloutPhase.Progressing, result.Phase);
        return env.Cluster.Writes.Skip(before).ToList();
    }

    [Fact]
    public async Task Case1_and_2_validate_and_start_name_the_served_versions_and_write_nothing()
    {
        var env = SandboxEnvironment.Create("smi", "healthy"); // the sandbox serves TrafficSplit v1alpha4 only, like ../shared/crds
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var writes = env.Cluster.Writes.Count;
        var before = Snapshot(env.Cluster);

        var report = await svc.TestAsync(new StartRequest { SpecYaml = SmiSpec("v1alpha2") }, checkCluster: true);
        Assert.False(report.IsValid);
        var crd = Assert.Single(report.Checks, c => c.Check == "crd");
        Assert.Equal(CheckOutcome.Failed, crd.Outcome);
        Assert.Equal("spec.smi.apiVersion: the cluster does not serve trafficsplits.split.smi-spec.io/v1alpha2; it serves v1alpha4; set spec.smi.apiVersion: split.smi-spec.io/v1alpha4", crd.Message);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SmiSpec("v1alpha2") }, wait: true)));
        Assert.Equal("ApiVersionNotServed", e.ErrorId);
        Assert.Equal(KubesteadErrorKind.InvalidInput, e.Kind);
        Assert.Contains("it serves v1alpha4", e.Message);

        Assert.Equal(writes, env.Cluster.Writes.Count);
        AssertSameObjects(before, Snapshot(env.Cluster), "after a failed preflight");

        // With the served version the same spec passes the same checks.
        var ok = await svc.TestAsync(new StartRequest { SpecYaml = SmiSpec("v1alpha4") }, checkCluster: true);
        Assert.True(ok.IsValid, string.Join("\n", ok.Checks));
        Assert.Contains(ok.Checks, c => c.Check == "crd" && c.Message.Contains("trafficsplits.split.smi-spec.io/v1alpha4"));
        Assert.Contains(ok.Checks, c => c.Check == "rbac" && c.Message.StartsWith("delete deployments.apps", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Preflight_refuses_objects_of_another_rollout_naming_it_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        env.Cluster.Seed(ResourceType.Deployment, JsonNode.Parse("""
            {"metadata":{"name":"shop-canary","namespace":"shop","annotations":{"kubestead.io/created-by":"checkout"}},
             "spec":{"replicas":0,"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"app","image":"x"}]}}}}
            """)!.AsObject());
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var writes = env.Cluster.Writes.Count;
        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true)));
        Assert.Equal("ObjectOwnedByAnotherRollout", e.ErrorId);
        Assert.Contains("Deployment shop-canary already exists and belongs to rollout checkout", e.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    [Fact]
    public async Task Preflight_reports_every_problem_at_once()
    {
        var env = SandboxEnvironment.Create("smi", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var spec = SmiSpec("v1alpha3").Replace("deployment: shop", "deployment: shopp", StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<PreflightFailedException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false)));
        Assert.Contains("it serves v1alpha4", e.Message);
        Assert.Contains("Deployment 'shopp' does not exist", e.Message);
        Assert.Equal(2, e.Report.Errors.Count);
    }

    [Theory]
    [InlineData("istio", false)]
    [InlineData("istio", true)]
    [InlineData("linkerd", false)]
    [InlineData("linkerd", true)]
    [InlineData("smi", false)]
    [InlineData("smi", true)]
    [InlineData("none", false)]
    [InlineData("none", true)]
    [InlineData("nginx", false)]
    [InlineData("nginx", true)]
    public async Task A_start_failing_at_any_of_its_writes_leaves_nothing_and_a_second_start_completes(string mesh, bool afterApply)
    {
        var spec = SandboxDemoTests.SpecFor(mesh);
        var clean = await WritesOfACleanStartAsync(mesh, spec);
        Assert.True(clean.Count >= 4, $"a {mesh} start made only {clean.Count} writes: {string.Join("; ", clean)}");
        // The last write is the Lease release after a successful start: failing it is not a failed start.
        for (var n = 1; n < clean.Count; n++)
        {
            var env = SandboxEnvironment.Create(mesh, "healthy");
            var before = Snapshot(env.Cluster);
            env.Cluster.FailWriteNumber(n, afterApply);
            await using var svc = env.CreateService(NullRolloutObserver.Instance);
            var context = $"{mesh}, write {n} ({clean[n - 1]}) failed {(afterApply ? "after" : "before")} applying";
            try
            {
                await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
                // Only a lost answer to the Lease create is recognised (the Lease read back is ours) and the start goes on.
                Assert.True(afterApply && n == 1, $"{context}: the start succeeded");
                await svc.AbortAsync(Ns, "shop", waitForCleanup: true);
                var afterAbort = Snapshot(env.Cluster);
                afterAbort.Remove("configmaps/kubestead-shop");
                AssertSameObjects(before, afterAbort, context + ", then aborted");
                continue;
            }
            catch (StartUndoneException e)
            {
                Assert.True(e.Message.Contains("start undone, nothing left behind", StringComparison.Ordinal), $"{context}: {e.Message}");
                Assert.True(e.Message.Contains("injected failure", StringComparison.Ordinal) || e.Message.Contains("connection dropped", StringComparison.Ordinal), e.Message);
                Assert.Empty(e.Leftovers);
            }
            AssertSameObjects(before, Snapshot(env.Cluster), context);

            // Nothing to abort: the rollout was never recorded.
            await Assert.ThrowsAsync<RolloutNotFoundException>(() => svc.AbortAsync(Ns, "shop"));
            var second = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
            Assert.True(second.Phase == RolloutPhase.Completed, $"{context}: the second start ended {second.Phase}: {second.Message}");
        }
    }

    [Theory]
    [InlineData("istio")]
    [InlineData("linkerd")]
    [InlineData("smi")]
    [InlineData("none")]
    [InlineData("nginx")]
    public async Task When_the_undo_fails_the_rollout_is_Failed_with_its_leftovers_and_abort_removes_them(string mesh)
    {
        var spec = SandboxDemoTests.SpecFor(mesh);
        var clean = await WritesOfACleanStartAsync(mesh, spec);
        var canaryCreate = clean.ToList().IndexOf("CREATE deployments/shop-canary") + 1;
        Assert.True(canaryCreate > 0, string.Join("; ", clean));
        for (var n = canaryCreate + 1; n < clean.Count; n++)
        {
            var env = SandboxEnvironment.Create(mesh, "healthy");
            var before = Snapshot(env.Cluster);
            env.Cluster.FailWriteNumber(n, afterApply: false);
            env.Cluster.InjectFault("DELETE", "deployments", "shop-canary"); // the undo cannot delete the canary
            await using var svc = env.CreateService(NullRolloutObserver.Instance);
            var e = await Assert.ThrowsAsync<StartUndoneException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false)));
            var context = $"{mesh}, write {n} ({clean[n - 1]}) failed and the undo could not delete the canary";
            Assert.Contains(e.Leftovers, l => l.StartsWith("Deployment shop-canary (apps/v1)", StringComparison.Ordinal));
            Assert.Contains("kubestead abort shop -n shop", e.Message);
            var failed = await svc.GetAsync(Ns, "shop");
            Assert.Equal(RolloutPhase.Failed, failed.Phase);
            Assert.Contains("left behind: Deployment shop-canary", failed.Message);

            // status says so; a new start would finish the clean-up itself (PendingCleanupTests), abort does it here.
            Assert.True(failed.CleanupPending);

            var aborted = await svc.AbortAsync(Ns, "shop", waitForCleanup: true);
            Assert.Equal(RolloutPhase.Failed, aborted.Phase);
            var after = Snapshot(env.Cluster);
            Assert.True(after.Remove("configmaps/kubestead-shop"), $"{context}: the record of the failed rollout should stay");
            AssertSameObjects(before, after, context);
            // Abort is idempotent: a second one writes nothing.
            var writes = env.Cluster.Writes.Count;
            await svc.AbortAsync(Ns, "shop");
            Assert.Equal(writes, env.Cluster.Writes.Count);
            Assert.Equal(RolloutPhase.Completed, (await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true))).Phase);
        }
    }

    [Fact]
    public async Task Case3_abort_skips_a_TrafficSplit_that_never_existed_and_removes_the_canary_objects()
    {
        var env = SandboxEnvironment.Create("smi", "healthy");
        var before = Snapshot(env.Cluster);
        // The start dies creating the TrafficSplit, and its undo cannot delete the canary Service: the rollout is Failed.
        env.Cluster.InjectFault("CREATE", "trafficsplits", status: 500);
        env.Cluster.InjectFault("DELETE", "services", "shop-canary");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var e = await Assert.ThrowsAsync<StartUndoneException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("smi") }, wait: false)));
        Assert.Contains(e.Leftovers, l => l.StartsWith("Service shop-canary", StringComparison.Ordinal));
        Assert.Contains("creating the TrafficSplit shop (split.smi-spec.io/v1alpha4) in namespace shop", e.Message);
        Assert.Null(env.Cluster.Peek(ShopFixture.TrafficSplit, Ns, "shop"));

        var aborted = await svc.AbortAsync(Ns, "shop", waitForCleanup: true);
        Assert.Equal(RolloutPhase.Failed, aborted.Phase);
        var after = Snapshot(env.Cluster);
        after.Remove("configmaps/kubestead-shop");
        AssertSameObjects(before, after, "after abort");
    }

    [Fact]
    public async Task Abort_finds_what_the_rollout_created_by_its_marks_not_by_name()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        // An object this rollout created under another name (an earlier revision of the spec named another canary).
        env.Cluster.Seed(ResourceType.Deployment, JsonNode.Parse("""
            {"metadata":{"name":"shop-canary-old","namespace":"shop","labels":{"app.kubernetes.io/managed-by":"kubestead"},"annotations":{"kubestead.io/created-by":"shop"}},
             "spec":{"replicas":0,"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"app","image":"x"}]}}}}
            """)!.AsObject());
        var aborted = await svc.AbortAsync(Ns, "shop", waitForCleanup: true);
        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, Ns, "shop-canary"));
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, Ns, "shop-canary-old"));
        Assert.Null(env.Cluster.Peek(ResourceType.Lease, Ns, "kubestead-shop"));
        Assert.Null(env.Cluster.Peek(ShopFixture.VirtualService, Ns, "shop")!["metadata"]!["annotations"]?["kubestead.io/rollout"]);
    }

    [Fact]
    public async Task An_abort_that_cannot_finish_lists_exactly_what_is_left_and_the_next_abort_finishes()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var before = Snapshot(env.Cluster);
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("linkerd") }, wait: false));
        env.Cluster.InjectFault("DELETE", "deployments", "shop-canary");
        var e = await Assert.ThrowsAsync<RolloutCleanupIncompleteException>(() => svc.AbortAsync(Ns, "shop", waitForCleanup: true));
        Assert.Equal(["Deployment shop-canary (apps/v1) in namespace shop"], e.Leftovers);
        Assert.Contains("run abort again", e.Message);
        Assert.Equal(RolloutPhase.Aborted, (await svc.GetAsync(Ns, "shop")).Phase);

        Assert.Equal(RolloutPhase.Aborted, (await svc.AbortAsync(Ns, "shop", waitForCleanup: true)).Phase);
        var after = Snapshot(env.Cluster);
        after.Remove("configmaps/kubestead-shop");
        AssertSameObjects(before, after, "after the second abort");
    }

    [Fact]
    public async Task Case4_a_rollout_without_a_mesh_after_a_failed_smi_start_works()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        // SMI's stable backend must select stable's pods only; without a mesh the Service spans every version (issue #25).
        async Task SelectAsync(JsonObject selector)
        {
            var shop = env.Cluster.Peek(ResourceType.Service, Ns, "shop")!;
            shop["spec"]!["selector"] = selector;
            await env.Cluster.ReplaceAsync(ResourceType.Service, Ns, "shop", shop);
        }
        await SelectAsync(new JsonObject { ["app"] = "shop", ["version"] = "stable" });
        // Case 1/2: the unserved version is refused before any write...
        await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SmiSpec("v1alpha2") }, wait: false)));
        // ...and with the served one, a start that fails halfway (creating the TrafficSplit) is undone.
        env.Cluster.InjectFault("CREATE", "trafficsplits", status: 500);
        var e = await Assert.ThrowsAsync<StartUndoneException>(() => Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SmiSpec("v1alpha4") }, wait: false)));
        Assert.Contains("removed Deployment shop-canary", e.Message);
        Assert.Contains("removed Service shop-canary", e.Message);
        await SelectAsync(new JsonObject { ["app"] = "shop" });
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("none") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
    }

    [CrdFact]
    public async Task The_sandbox_honours_served_false_with_a_404_and_the_error_says_which_versions_are_served()
    {
        var cluster = new EmulatedCluster();
        cluster.RegisterCrd(Kubestead.Sandbox.Schema.CrdDocument.Load(Path.Combine(SharedPaths.Crds!, "smi-trafficsplits.yaml")));
        Assert.Equal(["v1alpha4"], (await cluster.DiscoverAsync()).VersionsOf("split.smi-spec.io", "trafficsplits"));
        var v2 = new ResourceType("split.smi-spec.io", "v1alpha2", "trafficsplits", "TrafficSplit");
        var split = JsonNode.Parse("""{"metadata":{"name":"checkout-service"},"spec":{"service":"checkout-service","backends":[{"service":"checkout-service","weight":100}]}}""")!.AsObject();
        var raw = await Assert.ThrowsAsync<KubernetesApiException>(() => cluster.CreateAsync(v2, "web", split));
        Assert.Equal(404, raw.StatusCode);
        Assert.Equal("the server could not find the requested resource", raw.Message);
        await Assert.ThrowsAsync<KubernetesApiException>(() => cluster.GetAsync(v2, "web", "checkout-service"));

        var described = await Assert.ThrowsAsync<DescribedApiException>(() => new DescribedKubernetesApi(cluster).CreateAsync(v2, "web", split));
        Assert.True(described.IsNotFound);
        Assert.Equal("creating the TrafficSplit checkout-service (split.smi-spec.io/v1alpha2) in namespace web: the cluster does not serve this version; it serves v1alpha4",
            described.Message);

        await cluster.CreateAsync(v2 with { Version = "v1alpha4" }, "web", split);
    }
}
