using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;


namespace Kubestead.Sandbox.Tests.Lifecycle;

/// <summary>
/// Issue #19 item 13: the Role shipped in examples/rbac is enough for a whole rollout and validation, run as a
/// ServiceAccount bound to it on the real API server, and the cluster refuses what it leaves out.
/// </summary>
public class RbacExampleRealClusterTests
{
    private static readonly ResourceType ServiceAccount = new("", "v1", "serviceaccounts", "ServiceAccount");
    private static readonly ResourceType Role = new("rbac.authorization.k8s.io", "v1", "roles", "Role");
    private static readonly ResourceType RoleBinding = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding");
    private static readonly ResourceType ClusterRole = new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", Namespaced: false);

    /// <summary>The documents of an example file, with the namespace "web" replaced by the test's.</summary>
    private static List<JsonObject> ExampleDocuments(string file, string ns) =>
        File.ReadAllText(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "rbac", file))
            .Split("\n---\n")
            .Select(doc => Kubestead.Sandbox.Schema.YamlJson.Parse(doc.Replace("namespace: web", $"namespace: {ns}"))!.AsObject())
            .ToList();

    private static string KitFile(params string[] parts) => Kubestead.Tests.Shared.ServiceAccountToken.KitFile(parts);

    /// <summary>A kubeconfig for the ServiceAccount's token against the same server and CA, written to a temporary file.</summary>
    private static string ServiceAccountKubeconfig(Uri server, string token, string ns)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kubestead-sa-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: kit
              cluster:
                server: {server.ToString().TrimEnd('/')}
                certificate-authority-data: {Convert.ToBase64String(File.ReadAllBytes(KitFile("pki", "ca.crt")))}
            users:
            - name: sa
              user:
                token: {token}
            contexts:
            - name: sa
              context:
                cluster: kit
                user: sa
                namespace: {ns}
            current-context: sa
            """);
        return path;
    }

    /// <summary>Creates ServiceAccount kubestead-ci in the test namespace, binds <paramref name="role"/> to it, and returns a connection with its token.</summary>
    private static async Task<ClusterConnection> AsServiceAccountAsync(RealClusterLifecycle env, JsonObject role)
    {
        var ns = env.Namespace;
        await env.Api.CreateAsync(ServiceAccount, ns, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "kubestead-ci" } });
        await env.Api.CreateAsync(Role, ns, role);
        await env.Api.CreateAsync(RoleBinding, ns, ExampleDocuments("role.yaml", ns).Single(d => d["kind"]!.GetValue<string>() == "RoleBinding"));
        var admin = KubeConfigResolver.Resolve(RealCluster.RealCluster.Kubeconfig);
        var saKubeconfig = ServiceAccountKubeconfig(admin.Server, await Kubestead.Tests.Shared.ServiceAccountToken.RequestAsync(ns, "kubestead-ci"), ns);
        try
        {
            return KubeConfigResolver.Resolve(saKubeconfig);
        }
        finally
        {
            File.Delete(saKubeconfig);
        }
    }

    private static JsonObject ExampleRole(string ns) => ExampleDocuments("role.yaml", ns).Single(d => d["kind"]!.GetValue<string>() == "Role");

    /// <summary>A service for one CI run: its own client and driver identity, as separate jobs on separate runners have.</summary>
    private static KubesteadService ServiceAs(ClusterConnection connection, string driver, bool recordEvents = false) => new(RealClusterLifecycle.CreateClient(connection), new KubesteadServiceOptions
    {
        Driver = new DriverIdentity(driver, "test", null, "1"), PollInterval = TimeSpan.FromMilliseconds(200), RecordEvents = recordEvents,
    });

    /// <summary>
    /// Issue #26 item 2: every release after the first, and every takeover, replaces the existing Lease (an update). Three
    /// releases under the shipped Role, each handed from one CI run to another: wait, resume and a re-run that attaches.
    /// </summary>
    [RealClusterFact]
    public async Task The_example_role_runs_three_releases_each_taken_over_by_another_driver()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var connection = await AsServiceAccountAsync(env, ExampleRole(env.Namespace));
        await using var first = ServiceAs(connection, "ci-run-1");
        await using var second = ServiceAs(connection, "ci-run-2");
        string Release(string version, string steps) => env.Spec($"{{ image: registry.example.com/shop:{version} }}", steps, "  scaleDownDelay: 1s");

        // 1: started without waiting by one run, driven to the end by another run's wait.
        var one = Release("2.0.0", "    - setWeight: 50");
        Assert.Equal(RolloutPhase.Progressing, (await first.StartAsync(new StartRequest { SpecYaml = one }, wait: false)).Phase);
        Assert.Equal(RolloutPhase.Completed, (await second.WaitAsync(env.Namespace, "shop", TimeSpan.FromMinutes(2))).Phase);

        // 2: the next release stops at its approval gate; another run resumes it to the end.
        var two = Release("2.1.0", "    - setWeight: 50\n    - pause: {}");
        Assert.Equal(RolloutPhase.Paused, (await first.StartAsync(new StartRequest { SpecYaml = two }, wait: true)).Phase);
        Assert.Equal(RolloutPhase.Completed, (await second.ResumeAsync(env.Namespace, "shop", wait: true)).Phase);

        // 3: a CI job run again attaches to the release its first attempt started and drives it.
        var three = Release("2.2.0", "    - setWeight: 50");
        Assert.Equal(RolloutPhase.Progressing, (await first.StartAsync(new StartRequest { SpecYaml = three }, wait: false)).Phase);
        Assert.Equal(RolloutPhase.Completed, (await second.StartAsync(new StartRequest { SpecYaml = three }, wait: true)).Phase);
        var stable = await env.GetDeploymentAsync("shop");
        Assert.Equal("registry.example.com/shop:2.2.0", stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    /// <summary>Issue #26 item 2: validate --cluster checks every Lease verb the engine uses, so a Role without update fails it.</summary>
    [RealClusterFact]
    public async Task A_role_without_update_on_leases_fails_validation_naming_it()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var role = ExampleRole(env.Namespace);
        var leases = role["rules"]!.AsArray().Single(r => r!["resources"]![0]!.GetValue<string>() == "leases")!;
        leases["verbs"] = new JsonArray(leases["verbs"]!.AsArray().Select(v => v!.GetValue<string>()).Where(v => v != "update").Select(v => (JsonNode)v).ToArray());
        await using var svc = ServiceAs(await AsServiceAccountAsync(env, role), "ci-run-1");

        var report = await svc.TestAsync(new StartRequest { SpecYaml = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50") }, checkCluster: true);

        Assert.False(report.IsValid);
        var denied = Assert.Single(report.Checks, c => c.Check == "rbac" && c.Outcome == CheckOutcome.Failed);
        Assert.Contains($"update leases.coordination.k8s.io in namespace {env.Namespace}", denied.Message);
    }

    [RealClusterFact]
    public async Task A_role_without_events_is_warned_about_and_the_rollout_still_runs()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var role = ExampleRole(env.Namespace);
        var rules = role["rules"]!.AsArray();
        rules.Remove(rules.Single(r => r!["resources"]![0]!.GetValue<string>() == "events"));
        await using var svc = ServiceAs(await AsServiceAccountAsync(env, role), "ci-run-1", recordEvents: true);
        var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50", "  scaleDownDelay: 1s");

        var report = await svc.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);

        Assert.True(report.IsValid, string.Join("\n", report.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));
        Assert.Contains(report.Checks, c => c.Check == "rbac" && c.Outcome == CheckOutcome.Warning
                                            && c.Message.StartsWith($"create events.events.k8s.io in namespace {env.Namespace}: denied", StringComparison.Ordinal));
        Assert.Equal(RolloutPhase.Completed, (await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true)).Phase);
        Assert.Empty((await env.Api.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, env.Namespace)).Items);
    }

    [RealClusterFact]
    public async Task The_example_role_bound_to_a_service_account_runs_a_whole_rollout_and_passes_validation()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var ns = env.Namespace;
        var asServiceAccount = await AsServiceAccountAsync(env, ExampleRole(ns));
        var clusterRole = ExampleDocuments("clusterrole.yaml", ns).Single(d => d["kind"]!.GetValue<string>() == "ClusterRole");
        // The ClusterRole is the same rule set: the API server accepts it (a typo in a resource or verb list would fail here).
        clusterRole["metadata"]!["name"] = $"kubestead-{ns}";
        await env.Api.CreateAsync(ClusterRole, null, clusterRole);
        try
        {
            var spec = env.Spec("{ image: registry.example.com/shop:2.0.0 }", "    - setWeight: 50", "  scaleDownDelay: 1s");
            await using var svc = ServiceAs(asServiceAccount, "kubestead-ci", recordEvents: true);

            var report = await svc.TestAsync(new StartRequest { SpecYaml = spec }, checkCluster: true);
            Assert.True(report.IsValid, string.Join("\n", report.Checks.Where(c => c.Outcome != CheckOutcome.Passed).Select(c => c.Message)));
            Assert.Contains(report.Checks, c => c.Check == "rbac" && c.Outcome == CheckOutcome.Passed);

            var result = await svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true);
            Assert.Equal(RolloutPhase.Completed, result.Phase);
            Assert.Null(await env.TryGetDeploymentAsync("shop-canary"));
            var status = await svc.GetAsync(ns, "shop");
            Assert.NotNull(status.Driving);
            // The Role lets the run write its Events on the stable Deployment (the recorder writes in the background).
            for (var i = 0; i < 100 && !(await env.Api.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, ns)).Items
                     .Any(e => e["reason"]?.GetValue<string>() == "RolloutCompleted"); i++)
                await Task.Delay(100);
            Assert.Contains((await env.Api.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, ns)).Items,
                e => e["reason"]?.GetValue<string>() == "RolloutCompleted" && e["regarding"]?["name"]?.GetValue<string>() == "shop");

            // The same Role covers meshProvider nginx: validate --cluster as the ServiceAccount passes every permission check.
            await env.Api.CreateAsync(ResourceType.Ingress, ns, JsonNode.Parse("""
                {"metadata":{"name":"shop"},"spec":{"ingressClassName":"nginx","rules":[{"host":"shop.example.com","http":{"paths":[
                  {"path":"/","pathType":"Prefix","backend":{"service":{"name":"shop","port":{"number":80}}}}]}}]}}
                """)!.AsObject());
            var nginxSpec = $"""
                apiVersion: kubestead.io/v1alpha1
                kind: Rollout
                metadata: {"{"} name: shop-nginx, namespace: {ns} {"}"}
                spec:
                  service: shop
                  meshProvider: nginx
                  nginx: {"{"} ingress: shop {"}"}
                  stable: {"{"} deployment: shop {"}"}
                  canary: {"{"} image: registry.example.com/shop:2.0.0 {"}"}
                  steps:
                    - setWeight: 50
                """;
            var nginxReport = await svc.TestAsync(new StartRequest { SpecYaml = nginxSpec }, checkCluster: true);
            Assert.DoesNotContain(nginxReport.Checks, c => c.Check == "rbac" && c.Outcome != CheckOutcome.Passed);
            Assert.Contains(nginxReport.Checks, c => c.Check == "rbac" && c.Message.StartsWith("create ingresses.networking.k8s.io", StringComparison.Ordinal));

            // What the Role leaves out stays out: the ServiceAccount cannot read Secrets.
            var limited = RealClusterLifecycle.CreateClient(asServiceAccount);
            try
            {
                var denied = await Assert.ThrowsAsync<KubernetesApiException>(() => limited.ListAsync(ResourceType.Secret, ns));
                Assert.Equal(403, denied.StatusCode);
            }
            finally
            {
                if (limited is IAsyncDisposable d) await d.DisposeAsync();
            }
        }
        finally
        {
            await env.Api.DeleteAsync(ClusterRole, null, $"kubestead-{ns}");
        }
    }

    [RealClusterFact]
    public async Task Destination_rule_patch_is_checked_only_for_a_created_baseline_and_its_absence_fails_validation()
    {
        await using var env = await RealClusterLifecycle.CreateAsync();
        var ns = env.Namespace;
        var role = ExampleRole(ns);
        // The example Role with DestinationRules read-only: what a Role written before created baselines gives.
        var rules = role["rules"]!.AsArray();
        var istio = rules.Single(r => r!["apiGroups"]![0]!.GetValue<string>() == "networking.istio.io")!;
        istio["resources"] = new JsonArray("virtualservices");
        rules.Add(new JsonObject { ["apiGroups"] = new JsonArray("networking.istio.io"), ["resources"] = new JsonArray("destinationrules"), ["verbs"] = new JsonArray("get", "list") });
        var asServiceAccount = await AsServiceAccountAsync(env, role);
        foreach (var (type, obj) in MeshFixtures.IstioSubsetObjects())
        {
            obj["metadata"]!["namespace"] = ns;
            await env.Api.CreateAsync(type, ns, obj);
        }

        await using var svc = ServiceAs(asServiceAccount, "kubestead-ci");
        var without = MeshFixtures.IstioSubsetSpec(ns);
        var withBaseline = without.Replace("  stable: {", "  baseline: { create: true }\n  stable: {", StringComparison.Ordinal)
            .Replace("setWeight: 60", "setWeight: 40", StringComparison.Ordinal);
        Assert.Contains("create: true", withBaseline);

        var plain = await svc.TestAsync(new StartRequest { SpecYaml = without }, checkCluster: true);
        Assert.DoesNotContain(plain.Checks, c => c.Check == "rbac" && c.Outcome != CheckOutcome.Passed);
        Assert.DoesNotContain(plain.Checks, c => c.Message.Contains("patch destinationrules", StringComparison.Ordinal));

        var report = await svc.TestAsync(new StartRequest { SpecYaml = withBaseline }, checkCluster: true);
        Assert.False(report.IsValid);
        var denied = Assert.Single(report.Checks, c => c.Check == "rbac" && c.Outcome == CheckOutcome.Failed);
        Assert.Contains("patch destinationrules.networking.istio.io in namespace " + ns, denied.Message);
        // Nothing was written by the check: no baseline subset, no baseline Deployment.
        var dr = await env.Api.GetAsync(MeshFixtures.DestinationRule, ns, "reviews");
        Assert.DoesNotContain(dr["spec"]!["subsets"]!.AsArray(), x => x!["name"]!.GetValue<string>() == "baseline");
        var missing = await Assert.ThrowsAsync<KubernetesApiException>(() => env.Api.GetAsync(ResourceType.Deployment, ns, "reviews-baseline"));
        Assert.True(missing.IsNotFound);
    }
}
