using System.Text.Json;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Kubeconfig;

/// <summary>Kubestead's fast kubeconfig reader fills KubernetesClient's model exactly as the library's own (slow) reader does.</summary>
public class KubeConfigDocumentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-kubeconfig-doc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Fails when the two readers disagree on any field the library's model has (extensions and preferences aside).</summary>
    internal static void AssertSameAsLibrary(string path)
    {
        var library = k8s.KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(path), useRelativePaths: true);
        var ours = KubeConfigDocument.Read(path).Config;
        Assert.Equal(Normalise(library), Normalise(ours));
    }

    private static string Normalise(object model)
    {
        var node = JsonSerializer.SerializeToNode(model)!;
        static void Strip(JsonNode? n)
        {
            if (n is JsonObject o)
            {
                o.Remove("Extensions");
                o.Remove("Preferences");
                foreach (var key in o.Where(kv => kv.Value is null || kv.Value is JsonArray { Count: 0 }).Select(kv => kv.Key).ToList()) o.Remove(key);
                foreach (var kv in o) Strip(kv.Value);
            }
            else if (n is JsonArray a) foreach (var item in a) Strip(item);
        }
        Strip(node);
        return node.ToJsonString();
    }

    [Fact]
    public void Every_field_kubestead_reads_matches_the_library()
    {
        var path = Path.Combine(_dir, "all.yaml");
        File.WriteAllText(path, """
            apiVersion: v1
            kind: Config
            preferences: {}
            current-context: "ctx-a"
            clusters:
            - name: a
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority: relative/ca.crt
                tls-server-name: kubernetes.default.svc
            - name: b
              cluster:
                server: https://b.example:443
                insecure-skip-tls-verify: true
                certificate-authority-data: Zm9v
            contexts:
            - name: ctx-a
              context: {cluster: a, user: u1, namespace: web}
            - name: ctx-b
              context:
                cluster: b
                user: u2
            users:
            - name: u1
              user:
                token: abc
                as: someone
            - name: u2
              user:
                username: alice
                password: "s3cret"
                client-certificate: certs/c.crt
                client-key: certs/c.key
                client-certificate-data: YmFy
                client-key-data: YmF6
            - name: u3
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: aws
                  args: [--region, eu-west-1, eks, get-token]
                  env:
                  - name: AWS_PROFILE
                    value: prod
                  installHint: install the aws cli
                  provideClusterInfo: true
                  interactiveMode: IfAvailable
            - name: u4
              user:
                auth-provider:
                  name: oidc
                  config:
                    client-id: kubernetes
                    id-token: x.y.z
            - name: u5
              user:
                tokenFile: /var/run/token
            """);
        AssertSameAsLibrary(path);
        Assert.Equal("/var/run/token", KubeConfigDocument.Read(path).TokenFiles["u5"]);
    }

    [Fact]
    public void A_difference_is_detected()
    {
        // The comparison itself can fail: a kubeconfig the library reads differently from a changed copy is caught.
        var path = Path.Combine(_dir, "one.yaml");
        File.WriteAllText(path, "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters:\n- name: a\n  cluster: {server: 'https://a'}\n");
        var ours = KubeConfigDocument.Read(path).Config;
        ours.Clusters.First().ClusterEndpoint.Server = "https://b";
        var library = k8s.KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(path));
        Assert.NotEqual(Normalise(library), Normalise(ours));
    }
}
