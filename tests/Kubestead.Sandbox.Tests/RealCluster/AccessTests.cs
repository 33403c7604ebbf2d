using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>The kit's read-only <c>limited</c> user against real RBAC: clear denials, and nothing written.</summary>
public class AccessTests
{
    [RealClusterFact]
    public async Task Validate_against_the_cluster_lists_each_denied_permission()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("validate");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var limited = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(), context: RealCluster.Limited);
        var admin = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace) };

        var denied = await limited.TestAsync(spec, checkCluster: true);
        var allowed = await admin.TestAsync(spec, checkCluster: true);

        Assert.False(denied.IsValid);
        var failures = denied.Checks.Where(c => c.Check == "rbac" && c.Outcome == CheckOutcome.Failed).Select(c => c.Message).ToList();
        Assert.Contains(failures, m => m.Contains("patch virtualservices.networking.istio.io", StringComparison.Ordinal));
        Assert.Contains(failures, m => m.Contains("create configmaps", StringComparison.Ordinal));
        Assert.Contains(failures, m => m.Contains("leases.coordination.k8s.io", StringComparison.Ordinal));
        // The limited user may read every object (but not the scale subresource, which start also uses).
        Assert.DoesNotContain(denied.Checks, c => c.Check == "rbac" && c.Message.StartsWith("get ", StringComparison.Ordinal) && !c.Message.Contains("/scale", StringComparison.Ordinal)
            && c.Outcome == CheckOutcome.Failed);
        Assert.Contains(failures, m => m.StartsWith("get deployments/scale.apps", StringComparison.Ordinal));
        Assert.True(allowed.IsValid, string.Join("; ", allowed.Checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => c.Message)));
    }

    [RealClusterFact]
    public async Task Start_as_the_limited_user_fails_with_Forbidden_and_writes_nothing()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("forbidden");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var before = await SnapshotAsync(env);
        var limited = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock(), context: RealCluster.Limited);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => limited.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace) }, wait: true));

        var forbidden = e is KubernetesApiException api ? api.StatusCode == 403
            : e is KubesteadException k && k.Kind == KubesteadErrorKind.PermissionDenied;
        Assert.True(forbidden, $"{e.GetType().Name}: {e.Message}");
        Assert.Contains("forbidden", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await SnapshotAsync(env));
    }

    /// <summary>Every object of the types Kubestead writes, by kind, name and resourceVersion.</summary>
    private static async Task<List<string>> SnapshotAsync(RealRolloutEnvironment env)
    {
        var result = new List<string>();
        foreach (var type in new[] { ResourceType.ConfigMap, ResourceType.Lease, ResourceType.Deployment, ResourceType.Service, MeshFixtures.VirtualService, MeshFixtures.DestinationRule })
            foreach (var o in (await env.Admin.ListAsync(type, env.Namespace)).Items)
                if (o["metadata"]!["name"]!.GetValue<string>() != "kube-root-ca.crt")
                    result.Add($"{type.Plural}/{o["metadata"]!["name"]}@{o["metadata"]!["resourceVersion"]}");
        return result;
    }
}
