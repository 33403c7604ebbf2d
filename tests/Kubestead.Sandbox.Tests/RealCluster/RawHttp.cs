using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// A plain HttpClient that reads the API the way curl would, with the server, CA and bearer token of one kubeconfig
/// context, and no Kubestead code in between: what it sees is what the server stored. The token never leaves memory.
/// </summary>
public static class RawHttp
{
    public static HttpClient Create(string kubeconfig, string context)
    {
        using var reader = new StreamReader(kubeconfig);
        var yaml = new YamlStream();
        yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        YamlMappingNode Named(string list, string name) => (YamlMappingNode)((YamlMappingNode)((YamlSequenceNode)root[list]).Children
            .Cast<YamlMappingNode>().Single(n => n["name"].ToString() == name))[list.TrimEnd('s')];
        var ctx = Named("contexts", context);
        var cluster = Named("clusters", ctx["cluster"].ToString());
        var user = Named("users", ctx["user"].ToString());
        var ca = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(cluster["certificate-authority-data"].ToString())));
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                if (cert is null) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            },
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri(cluster["server"].ToString().TrimEnd('/') + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user["token"].ToString());
        return http;
    }

    public static async Task<JsonObject> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
        return JsonNode.Parse(body)!.AsObject();
    }
}
