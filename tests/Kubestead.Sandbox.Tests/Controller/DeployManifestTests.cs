using Kubestead.Controller;
using Kubestead.Rollouts.Start;
using Kubestead.Specs;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// deploy/: the Deployment runs as the issue asks (checked here, so an edit that drops a hardening field fails), and its Roles grant exactly what the controller uses: the start preflight's own list for every example rollout
/// (every mesh, with and without a created canary or baseline), plus the controller's watches and the courtesy reads. A
/// verb the engine starts to use fails here (missing), and so does a verb nobody uses any more (not minimal).
/// </summary>
public class DeployManifestTests
{
    private static IEnumerable<string> ExampleSpecs =>
        Directory.GetFiles(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples"), "*.yaml", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("kind: Rollout\n", StringComparison.Ordinal));

    /// <summary>What driving any of the examples needs in its namespace; Secrets are an opt-in (see deploy/README.md).</summary>
    private static HashSet<(string Group, string Resource, string Verb)> Needed()
    {
        var needed = new HashSet<(string, string, string)>();
        var parsed = 0;
        foreach (var file in ExampleSpecs)
        {
            if (RolloutSpecParser.Parse(File.ReadAllText(file), file).Spec is not { } spec) continue;
            parsed++;
            foreach (var createsCanary in new[] { true, false })
                needed.UnionWith(StartPreflight.Permissions(spec, RolloutFootprint.For(spec), createsCanary).Where(p => p.Resource != "secrets"));
        }
        Assert.True(parsed >= 10, $"only {parsed} example rollouts parsed");
        needed.UnionWith(ControllerPermissions.InRolloutNamespaces);
        needed.UnionWith(ControllerPermissions.Courtesy);
        return needed;
    }

    private static string Diff(HashSet<(string Group, string Resource, string Verb)> expected, HashSet<(string Group, string Resource, string Verb)> actual) =>
        $"missing: {string.Join(", ", expected.Except(actual).Order())}; not used: {string.Join(", ", actual.Except(expected).Order())}";

    [Theory]
    [InlineData("rbac-namespaced.yaml", "Role")]
    [InlineData("rbac-cluster.yaml", "ClusterRole")]
    public void The_rollout_role_grants_what_the_preflight_lists_for_every_mesh_plus_the_controllers_watches_and_nothing_else(string file, string kind)
    {
        var expected = Needed();
        var granted = DeployManifests.Grants(DeployManifests.Single(file, kind));
        Assert.True(expected.SetEquals(granted), Diff(expected, granted));
        Assert.DoesNotContain(granted, g => g.Resource == "secrets");
    }

    [Fact]
    public void The_heartbeat_role_grants_the_heartbeat_verbs_only()
    {
        var expected = ControllerPermissions.InHomeNamespace.ToHashSet();
        var granted = DeployManifests.Grants(DeployManifests.Single("rbac-heartbeat.yaml", "Role"));
        Assert.True(expected.SetEquals(granted), Diff(expected, granted));
    }

    [Theory]
    [InlineData("rbac-namespaced.yaml", "RoleBinding", "Role")]
    [InlineData("rbac-cluster.yaml", "ClusterRoleBinding", "ClusterRole")]
    [InlineData("rbac-heartbeat.yaml", "RoleBinding", "Role")]
    public void Each_binding_gives_its_role_to_the_deployments_service_account(string file, string bindingKind, string roleKind)
    {
        var binding = DeployManifests.Single(file, bindingKind);
        var role = DeployManifests.Single(file, roleKind);
        var account = DeployManifests.Single("serviceaccount.yaml", "ServiceAccount");
        var deployment = DeployManifests.Single("deployment.yaml", "Deployment");
        Assert.Equal(role["metadata"]!["name"]!.GetValue<string>(), binding["roleRef"]!["name"]!.GetValue<string>());
        Assert.Equal(roleKind, binding["roleRef"]!["kind"]!.GetValue<string>());
        var subject = Assert.Single(binding["subjects"]!.AsArray())!;
        Assert.Equal("ServiceAccount", subject["kind"]!.GetValue<string>());
        Assert.Equal(account["metadata"]!["name"]!.GetValue<string>(), subject["name"]!.GetValue<string>());
        Assert.Equal(account["metadata"]!["namespace"]!.GetValue<string>(), subject["namespace"]!.GetValue<string>());
        Assert.Equal(account["metadata"]!["name"]!.GetValue<string>(), deployment["spec"]!["template"]!["spec"]!["serviceAccountName"]!.GetValue<string>());
    }

    [Fact]
    public void The_kustomization_applies_every_manifest_of_the_cluster_wide_variant()
    {
        var kustomization = Kubestead.Sandbox.Schema.YamlJson.Parse(File.ReadAllText(Path.Combine(DeployManifests.Folder, "kustomization.yaml")))!;
        var listed = kustomization["resources"]!.AsArray().Select(r => r!.GetValue<string>()).Order(StringComparer.Ordinal);
        Assert.Equal(DeployManifests.Files.Where(f => f != "rbac-namespaced.yaml"), listed);
    }

    [Fact]
    public void The_deployment_runs_two_hardened_replicas_probed_on_the_endpoint_it_listens_on()
    {
        var deployment = DeployManifests.Single("deployment.yaml", "Deployment");
        Assert.Equal(2L, deployment["spec"]!["replicas"]!.GetValue<long>());
        var pod = deployment["spec"]!["template"]!["spec"]!;
        Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());
        Assert.Equal("RuntimeDefault", pod["securityContext"]!["seccompProfile"]!["type"]!.GetValue<string>());
        var container = Assert.Single(pod["containers"]!.AsArray())!;
        var args = container["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal("controller", args[0]);
        Assert.Equal("0.0.0.0:8080", args[args.IndexOf("--listen-address") + 1]);
        var port = Assert.Single(container["ports"]!.AsArray())!;
        Assert.Equal(8080L, port["containerPort"]!.GetValue<long>());
        Assert.Equal("/healthz", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("/readyz", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.All(new[] { "livenessProbe", "readinessProbe" }, p => Assert.Equal(port["name"]!.GetValue<string>(), container[p]!["httpGet"]!["port"]!.GetValue<string>()));
        foreach (var kind in new[] { "requests", "limits" })
            Assert.All(new[] { "cpu", "memory" }, r => Assert.NotNull(container["resources"]![kind]![r]));
        var hardening = container["securityContext"]!;
        Assert.False(hardening["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.True(hardening["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.Equal(["ALL"], hardening["capabilities"]!["drop"]!.AsArray().Select(c => c!.GetValue<string>()));
        // The replica's name in Leases comes from the pod's name.
        Assert.Contains(container["env"]!.AsArray(), e => e!["name"]!.GetValue<string>() == "POD_NAME"
            && e["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>() == "metadata.name");
        var budget = DeployManifests.Single("poddisruptionbudget.yaml", "PodDisruptionBudget");
        Assert.Equal(deployment["spec"]!["selector"]!.ToJsonString(), budget["spec"]!["selector"]!.ToJsonString());
    }

    [Fact]
    public void The_deployment_lets_a_draining_replica_release_its_Leases_before_the_kubelet_kills_it()
    {
        // The CLI exits 130 after its default 10 s grace period; a replica draining dozens of rollouts on a loaded node
        // needs longer (the scale test saw exit 130 and Leases left to expire), and the pod's own grace must be longer still.
        var pod = DeployManifests.Single("deployment.yaml", "Deployment")["spec"]!["template"]!["spec"]!;
        var args = Assert.Single(pod["containers"]!.AsArray())!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        var at = args.IndexOf("--grace-period");
        Assert.True(at > 0, $"no --grace-period in {string.Join(" ", args)}");
        var grace = TimeSpan.FromSeconds(int.Parse(args[at + 1].TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(grace > TimeSpan.FromSeconds(10), $"--grace-period {grace} is no longer than the CLI's default");
        Assert.True(grace + TimeSpan.FromSeconds(5) <= TimeSpan.FromSeconds(pod["terminationGracePeriodSeconds"]!.GetValue<long>()),
            $"--grace-period {grace} leaves the kubelet's SIGKILL no margin");
    }
}
