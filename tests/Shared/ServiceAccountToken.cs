using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Tests.Shared;

/// <summary>
/// A short-lived token for a ServiceAccount of the real kube-apiserver (TokenRequest, as the kubelet gets a pod's), asked
/// for with the kit's admin token; never printed. Linked into the test projects that act as a ServiceAccount.
/// </summary>
internal static class ServiceAccountToken
{
    /// <summary>A file of the kube-apiserver kit's work folder, beside the test kubeconfig (see ../shared/kube-apiserver/README.md).</summary>
    public static string KitFile(params string[] parts) => Path.Combine([Path.GetDirectoryName(RealApiServer.Kubeconfig)!, .. parts]);

    public static async Task<string> RequestAsync(string ns, string serviceAccount)
    {
        var admin = KubeConfigResolver.Resolve(RealApiServer.Kubeconfig, "admin");
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(KitFile("pki", "ca.crt")));
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert!);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = admin.Server };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(KitFile("admin.token")).Trim());
        var body = """{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}""";
        using var response = await http.PostAsync($"api/v1/namespaces/{ns}/serviceaccounts/{serviceAccount}/token", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!["token"]!.GetValue<string>();
    }
}
