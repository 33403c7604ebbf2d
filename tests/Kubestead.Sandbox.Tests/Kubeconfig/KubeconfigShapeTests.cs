using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Tests.Server;

namespace Kubestead.Sandbox.Tests.Kubeconfig;

/// <summary>Kubeconfig files shaped like those kind, minikube, EKS, GKE and AKS write, resolved and used against the sandbox.</summary>
public class KubeconfigShapeTests : IAsyncLifetime
{
    private SandboxServerFixture _f = null!;
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-kubeconfig-").FullName;

    public async Task InitializeAsync() => _f = await SandboxServerFixture.StartAsync();

    public async Task DisposeAsync()
    {
        await _f.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Server => _f.Server.Address.ToString().TrimEnd('/');

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        // Every kubeconfig shape is also read by the library's own reader: Kubestead's fast reader must agree with it.
        if (name.EndsWith(".yaml", StringComparison.Ordinal)) KubeConfigDocumentTests.AssertSameAsLibrary(path);
        return path;
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static (string CertPem, string KeyPem) ClientCertificate(bool ec)
    {
        using AsymmetricAlgorithm key = ec ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var request = ec
            ? new CertificateRequest("CN=kubernetes-admin,O=system:masters", (ECDsa)key, HashAlgorithmName.SHA256)
            : new CertificateRequest("CN=kubernetes-admin,O=system:masters", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var keyPem = ec ? ((ECDsa)key).ExportECPrivateKeyPem() : ((RSA)key).ExportRSAPrivateKeyPem();
        return (cert.ExportCertificatePem(), keyPem);
    }

    private async Task<bool> WorksAsync(ClusterConnection c)
    {
        await using var client = new KubernetesClientAdapter(c);
        return (await client.GetAsync(ResourceType.Namespace, null, "web"))["metadata"]!["name"]!.GetValue<string>() == "web";
    }

    [Fact]
    public async Task Kind_shape_with_embedded_rsa_client_certificate()
    {
        var (cert, key) = ClientCertificate(ec: false);
        var path = Write("kind.yaml", $"""
            apiVersion: v1
            kind: Config
            preferences: {"{}"}
            current-context: kind-kind
            clusters:
            - cluster:
                certificate-authority-data: {B64(cert)}
                server: {Server}
              name: kind-kind
            contexts:
            - context:
                cluster: kind-kind
                user: kind-kind
              name: kind-kind
            users:
            - name: kind-kind
              user:
                client-certificate-data: {B64(cert)}
                client-key-data: {B64(key)}
            """);
        var c = KubeConfigResolver.Resolve(path);
        Assert.Equal("kind-kind", c.ContextName);
        Assert.Equal("default", c.Namespace);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", Encoding.UTF8.GetString(Convert.FromBase64String(c.Configuration.ClientCertificateData!)));
        Assert.Equal("client certificate", c.ToString().Split(", ")[^1].TrimEnd(')'));
        Assert.DoesNotContain("PRIVATE KEY", c.ToString());
        Assert.True(await WorksAsync(c));
    }

    [Fact]
    public async Task Minikube_shape_with_ec_certificate_files_relative_to_the_kubeconfig()
    {
        var (cert, key) = ClientCertificate(ec: true);
        Directory.CreateDirectory(Path.Combine(_dir, "profiles"));
        File.WriteAllText(Path.Combine(_dir, "profiles", "client.crt"), cert);
        File.WriteAllText(Path.Combine(_dir, "profiles", "client.key"), key);
        var path = Write("minikube.yaml", $"""
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                server: {Server}
              name: minikube
            contexts:
            - context:
                cluster: minikube
                namespace: web
                user: minikube
              name: minikube
            current-context: minikube
            users:
            - name: minikube
              user:
                client-certificate: profiles/client.crt
                client-key: profiles/client.key
            """);
        var c = KubeConfigResolver.Resolve(path);
        Assert.Equal("web", c.Namespace);
        Assert.Equal(Path.Combine(_dir, "profiles", "client.key"), c.Configuration.ClientKeyFilePath);
        Assert.Contains("EC PRIVATE KEY", File.ReadAllText(c.Configuration.ClientKeyFilePath!));
        Assert.True(await WorksAsync(c));
    }

    private string ExecScript(string name, string apiVersion, params string[] tokens)
    {
        // Prints the next token of the list on each call, counting calls in a file beside it.
        var counter = Path.Combine(_dir, name + ".count");
        var cases = string.Join("\n", tokens.Select((t, i) => $"  {i + 1}) tok={t};;"));
        var script = Write(name, $$$"""
            #!/bin/bash
            n=$(( $(cat {{{counter}}} 2>/dev/null || echo 0) + 1 ))
            echo $n > {{{counter}}}
            case $n in
            {{{cases}}}
              *) tok={{{tokens[^1]}}};;
            esac
            test -n "$KUBERNETES_EXEC_INFO" || { echo "no exec info" >&2; exit 3; }
            echo "{\"apiVersion\":\"{{{apiVersion}}}\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"$tok\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}"
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    private int Calls(string name) => int.Parse(File.ReadAllText(Path.Combine(_dir, name + ".count")).Trim());

    [Fact]
    public async Task Eks_shape_exec_v1beta1_is_cached_until_expiry()
    {
        var script = ExecScript("aws", "client.authentication.k8s.io/v1beta1", _f.Server.Token);
        var path = Write("eks.yaml", $"""
            apiVersion: v1
            clusters:
            - cluster:
                server: {Server}
              name: arn:aws:eks:eu-west-1:123456789012:cluster/shop
            contexts:
            - context:
                cluster: arn:aws:eks:eu-west-1:123456789012:cluster/shop
                user: arn:aws:eks:eu-west-1:123456789012:cluster/shop
              name: arn:aws:eks:eu-west-1:123456789012:cluster/shop
            current-context: arn:aws:eks:eu-west-1:123456789012:cluster/shop
            kind: Config
            preferences: {"{}"}
            users:
            - name: arn:aws:eks:eu-west-1:123456789012:cluster/shop
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: {script}
                  args:
                  - --region
                  - eu-west-1
                  - eks
                  - get-token
                  - --cluster-name
                  - shop
                  env:
                  - name: AWS_PROFILE
                    value: prod
                  interactiveMode: IfAvailable
                  provideClusterInfo: false
            """);
        var c = KubeConfigResolver.Resolve(path);
        Assert.Equal("client.authentication.k8s.io/v1beta1", c.Exec!.ApiVersion);
        await using var client = new KubernetesClientAdapter(c);
        for (var i = 0; i < 3; i++) await client.GetAsync(ResourceType.Namespace, null, "web");
        Assert.Equal(1, Calls("aws"));
        Assert.DoesNotContain(_f.Server.Token, client.ToString());
    }

    [Fact]
    public async Task Gke_shape_exec_refreshes_once_when_the_server_says_401()
    {
        // The first token the plugin prints is stale; the server answers 401 and the client runs the plugin again.
        var script = ExecScript("gke-gcloud-auth-plugin", "client.authentication.k8s.io/v1beta1", "stale-token", _f.Server.Token);
        var path = Write("gke.yaml", $"""
            apiVersion: v1
            clusters:
            - cluster:
                server: {Server}
              name: gke_proj_europe-west1_shop
            contexts:
            - context:
                cluster: gke_proj_europe-west1_shop
                user: gke_proj_europe-west1_shop
              name: gke_proj_europe-west1_shop
            current-context: gke_proj_europe-west1_shop
            kind: Config
            users:
            - name: gke_proj_europe-west1_shop
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: {script}
                  installHint: Install gke-gcloud-auth-plugin for use with kubectl
                  provideClusterInfo: true
            """);
        Assert.True(await WorksAsync(KubeConfigResolver.Resolve(path)));
        Assert.Equal(2, Calls("gke-gcloud-auth-plugin"));
    }

    [Fact]
    public void Aks_shape_exec_v1_with_a_missing_plugin_names_the_install_hint_and_no_secret()
    {
        var path = Write("aks.yaml", $"""
            apiVersion: v1
            clusters:
            - cluster:
                server: {Server}
              name: shop-aks
            contexts:
            - context:
                cluster: shop-aks
                user: clusterUser_rg_shop-aks
              name: shop-aks
            current-context: shop-aks
            kind: Config
            users:
            - name: clusterUser_rg_shop-aks
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  args:
                  - get-token
                  - --login
                  - azurecli
                  - --server-id
                  - 6dae42f8-4368-4678-94ff-3960e28e3630
                  command: kubelogin-not-installed-here
                  env: null
                  installHint: kubelogin is not installed; see https://aka.ms/aks/kubelogin
                  provideClusterInfo: false
            """);
        // KubernetesClient runs the plugin while it reads the kubeconfig, so the missing plugin is reported before any request.
        var e = Assert.Throws<KubeConfigException>(() => KubeConfigResolver.Resolve(path));
        Assert.Contains("kubelogin-not-installed-here", e.Message);
        Assert.Contains("kubelogin is not installed", e.Message);
        Assert.Equal(KubesteadErrorKind.InvalidInput, e.Kind);
    }

    [Fact]
    public async Task Exec_plugin_arguments_reach_the_plugin_exactly_as_written()
    {
        // client-go passes each args item as one argv entry; an Azure resource id, a profile name or a path may hold spaces,
        // quotes or backslashes, and a plugin that receives them split or unquoted fails or asks for the wrong token.
        var argv = Path.Combine(_dir, "argv.txt");
        var script = Write("argv-plugin", $$$"""
            #!/bin/bash
            : > {{{argv}}}
            for a in "$@"; do printf '[%s]\n' "$a" >> {{{argv}}}; done
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"{{{_f.Server.Token}}}"}}'
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Write("spaces.yaml", $$"""
            apiVersion: v1
            kind: Config
            current-context: c
            clusters:
            - name: c
              cluster: {server: {{Server}}}
            contexts:
            - name: c
              context: {cluster: c, user: u}
            users:
            - name: u
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: {{script}}
                  args:
                  - get-token
                  - --profile
                  - "team a"
                  - 'say "hi"'
                  - 'C:\dir with space\'
                  - ""
                  - plain
            """);
        var c = KubeConfigResolver.Resolve(path);
        Assert.True(await WorksAsync(c));
        Assert.Equal(["[get-token]", "[--profile]", "[team a]", "[say \"hi\"]", "[C:\\dir with space\\]", "[]", "[plain]"], File.ReadAllLines(argv));
    }

    [Fact]
    public void A_failing_exec_plugin_is_reported_without_its_output()
    {
        // Plugins echo tokens or cloud credentials on stderr when they fail; KubernetesClient puts stderr into its message.
        const string secret = "AKIA-s3cr3t-from-stderr-0123456789";
        var script = Write("failing-plugin", $"#!/bin/bash\necho '{secret}' >&2\necho '{{\"token\":\"{secret}\"}}'\nexit 1\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Write("failing.yaml", $"""
            apiVersion: v1
            kind: Config
            current-context: c
            clusters:
            - name: c
              cluster: {"{"}server: {Server}{"}"}
            contexts:
            - name: c
              context: {"{"}cluster: c, user: u{"}"}
            users:
            - name: u
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: {script}
            """);
        var e = Assert.Throws<KubeConfigException>(() => KubeConfigResolver.Resolve(path));
        Assert.Contains("failing-plugin", e.Message);
        Assert.DoesNotContain(secret[..10], e.ToString());
    }

    [Fact]
    public async Task Token_file_and_kubeconfig_merging_follow_kubectl()
    {
        var tokenFile = Write("token", _f.Server.Token + "\n");
        var first = Write("first.yaml", $"""
            apiVersion: v1
            kind: Config
            current-context: team
            clusters:
            - name: sandbox
              cluster:
                server: {Server}
            users:
            - name: robot
              user:
                tokenFile: {tokenFile}
            contexts:
            - name: team
              context: {"{"}cluster: sandbox, user: robot, namespace: web{"}"}
            """);
        var second = Write("second.yaml", $"""
            apiVersion: v1
            kind: Config
            current-context: other
            clusters:
            - name: sandbox
              cluster:
                server: http://127.0.0.1:1
            users:
            - name: robot
              user:
                token: wrong
            contexts:
            - name: other
              context: {"{"}cluster: sandbox, user: robot, namespace: elsewhere{"}"}
            """);
        var env = new Dictionary<string, string?> { ["KUBECONFIG"] = $"{first}:{Path.Combine(_dir, "missing.yaml")}:{second}" };
        var c = KubeConfigResolver.Resolve(environment: k => env.GetValueOrDefault(k));
        Assert.Equal("team", c.ContextName);      // current-context from the first file that sets it
        Assert.Equal(tokenFile, c.TokenFile);     // first file wins for the user "robot"
        Assert.True(await WorksAsync(c));
        var other = KubeConfigResolver.Resolve(context: "other", environment: k => env.GetValueOrDefault(k));
        Assert.Equal("elsewhere", other.Namespace);
        Assert.Equal(Server + "/", other.Server.ToString()); // cluster "sandbox" also from the first file
        var e = Assert.Throws<KubeConfigException>(() => KubeConfigResolver.Resolve(context: "nope", environment: k => env.GetValueOrDefault(k)));
        Assert.Contains("contexts: team, other", e.Message);
        Assert.Equal("ns2", KubeConfigResolver.Resolve(context: "other", namespaceOverride: "ns2", environment: k => env.GetValueOrDefault(k)).Namespace);
    }

    [Fact]
    public void In_cluster_config_reads_the_service_account()
    {
        var sa = Directory.CreateDirectory(Path.Combine(_dir, "serviceaccount")).FullName;
        File.WriteAllText(Path.Combine(sa, "token"), "sa-token");
        File.WriteAllText(Path.Combine(sa, "namespace"), "payments\n");
        var (cert, _) = ClientCertificate(ec: true);
        File.WriteAllText(Path.Combine(sa, "ca.crt"), cert);
        var env = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", ["KUBERNETES_SERVICE_PORT"] = "443", ["HOME"] = _dir };
        var c = KubeConfigResolver.Resolve(environment: k => env.GetValueOrDefault(k), inClusterRoot: sa);
        Assert.Equal("https://10.96.0.1/", c.Server.ToString());
        Assert.Equal("payments", c.Namespace);
        Assert.Equal(Path.Combine(sa, "token"), c.TokenFile);
        Assert.Equal(X509Certificate2.CreateFromPem(cert).Thumbprint, Assert.Single(c.Configuration.SslCaCerts!).Thumbprint);
        Assert.DoesNotContain("sa-token", c.ToString());
    }

    [Fact]
    public void No_kubeconfig_at_all_is_a_clear_error()
    {
        var e = Assert.Throws<KubeConfigException>(() => KubeConfigResolver.Resolve(environment: _ => null, inClusterRoot: Path.Combine(_dir, "none")));
        Assert.Contains("no kubeconfig found", e.Message);
        Assert.Equal(KubesteadErrorKind.InvalidInput, e.Kind);
    }
}
