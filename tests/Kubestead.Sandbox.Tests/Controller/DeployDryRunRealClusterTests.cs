using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Controller;

/// <summary>
/// Every document of deploy/*.yaml is accepted by the real kube-apiserver with server-side dry run and strict field
/// validation (a misspelt or misplaced field is an error, not silently dropped), and dry run leaves nothing behind.
/// </summary>
public class DeployDryRunRealClusterTests
{
    private static (string Plural, bool Namespaced) Resource(string kind) => kind switch
    {
        "Namespace" => ("namespaces", false),
        "ServiceAccount" => ("serviceaccounts", true),
        "Deployment" => ("deployments", true),
        "PodDisruptionBudget" => ("poddisruptionbudgets", true),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        _ => throw new Xunit.Sdk.XunitException($"deploy/ holds a {kind}: teach this test its resource"),
    };

    private static string PathOf(JsonObject doc, string? ns)
    {
        var apiVersion = doc["apiVersion"]!.GetValue<string>();
        var (plural, namespaced) = Resource(doc["kind"]!.GetValue<string>());
        var root = apiVersion.Contains('/') ? $"apis/{apiVersion}" : $"api/{apiVersion}";
        return namespaced ? $"{root}/namespaces/{ns}/{plural}" : $"{root}/{plural}";
    }

    [RealClusterFact]
    public async Task Every_manifest_passes_server_side_dry_run_with_strict_field_validation_and_writes_nothing()
    {
        var admin = await RealCluster.RealCluster.ConnectAsync();
        var home = await RealCluster.RealCluster.CreateNamespaceAsync(admin, "ksdeploy");
        var team = await RealCluster.RealCluster.CreateNamespaceAsync(admin, "ksteam");
        var unique = Guid.NewGuid().ToString("N")[..8];
        using var http = RawHttp.Create(RealCluster.RealCluster.Kubeconfig, RealCluster.RealCluster.Admin);
        var applied = new List<string>();
        foreach (var file in DeployManifests.Files)
        {
            // namespace.yaml would name the home namespace the test already made: it gets a name of its own.
            var names = file == "namespace.yaml"
                ? new Dictionary<string, string> { ["kubestead-system"] = $"ksdeploy-ns-{unique}" }
                : new Dictionary<string, string> { ["kubestead-system"] = home, ["web"] = team };
            foreach (var doc in DeployManifests.Documents(file, names))
            {
                var kind = doc["kind"]!.GetValue<string>();
                // Cluster-scoped names are shared by every test on this server: a suffix keeps them apart.
                if (kind is "ClusterRole" or "ClusterRoleBinding") doc["metadata"]!["name"] = $"kubestead-controller-{unique}";
                if (kind == "ClusterRoleBinding") doc["roleRef"]!["name"] = $"kubestead-controller-{unique}";
                var ns = doc["metadata"]?["namespace"]?.GetValue<string>();
                using var response = await http.PostAsync(PathOf(doc, ns) + "?dryRun=All&fieldValidation=Strict",
                    new StringContent(doc.ToJsonString(), Encoding.UTF8, "application/json"));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Created, $"{file}: {kind}: {(int)response.StatusCode} {body}");
                Assert.DoesNotContain(response.Headers, h => h.Key.Equals("Warning", StringComparison.OrdinalIgnoreCase));
                applied.Add($"{kind} {PathOf(doc, ns)}/{doc["metadata"]!["name"]}");

                using var after = await http.GetAsync($"{PathOf(doc, ns)}/{doc["metadata"]!["name"]!.GetValue<string>()}");
                Assert.True(after.StatusCode == HttpStatusCode.NotFound, $"{file}: {kind} was stored by a dry run");
            }
        }
        // Every kind the README promises is there.
        foreach (var kind in new[] { "Namespace", "ServiceAccount", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding" })
            Assert.Contains(applied, a => a.StartsWith(kind + " ", StringComparison.Ordinal));
    }

    [RealClusterFact]
    public async Task A_misspelt_field_is_refused_by_the_same_dry_run_so_the_check_above_can_fail()
    {
        var admin = await RealCluster.RealCluster.ConnectAsync();
        var home = await RealCluster.RealCluster.CreateNamespaceAsync(admin, "ksdeploy");
        using var http = RawHttp.Create(RealCluster.RealCluster.Kubeconfig, RealCluster.RealCluster.Admin);
        var deployment = DeployManifests.Single("deployment.yaml", "Deployment", new Dictionary<string, string> { ["kubestead-system"] = home });
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        container["readinesProbe"] = container["readinessProbe"]!.DeepClone();
        using var response = await http.PostAsync(PathOf(deployment, home) + "?dryRun=All&fieldValidation=Strict",
            new StringContent(deployment.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("readinesProbe", await response.Content.ReadAsStringAsync());
    }
}
