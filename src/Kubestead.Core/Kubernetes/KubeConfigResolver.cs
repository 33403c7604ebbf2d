using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using k8s.KubeConfigModels;
using LibraryKubeConfigException = k8s.Exceptions.KubeConfigException;

namespace Kubestead.Kubernetes;

/// <summary>
/// Finds the kubeconfig the way kubectl does and lets KubernetesClient resolve it: an explicit path, else every file in
/// $KUBECONFIG (':'-separated; ';' on Windows; missing files skipped) merged with the first file winning for each cluster,
/// user and context name and for current-context, else ~/.kube/config, else in-cluster service-account config. Files are
/// read into the library's model by <see cref="KubeConfigDocument"/> (fast); the library resolves contexts, loads
/// certificates, checks TLS and runs exec plugins. Kubestead adds only what the library lacks: paths
/// relative to the file that names them when files are merged, the user's <c>tokenFile</c>, messages that list the contexts,
/// and exec failures reported without the plugin's output (it may hold secrets).
/// </summary>
public static class KubeConfigResolver
{
    public const string ServiceAccountRoot = "/var/run/secrets/kubernetes.io/serviceaccount";

    public static ClusterConnection Resolve(string? explicitPath = null, string? context = null, string? namespaceOverride = null,
        Func<string, string?>? environment = null, string? inClusterRoot = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var files = Files(explicitPath, environment);
        if (files.Count == 0)
        {
            var inCluster = InCluster(environment, inClusterRoot ?? ServiceAccountRoot);
            if (inCluster is not null) return namespaceOverride is null ? inCluster : inCluster.WithNamespace(namespaceOverride);
            throw new KubeConfigException("no kubeconfig found: set KUBECONFIG, pass --kubeconfig/-KubeConfig, or create ~/.kube/config (or run inside a cluster)");
        }

        var (merged, tokenFiles) = Load(files);
        var contextNames = merged.Contexts?.Select(c => c.Name).ToList() ?? [];
        var name = context ?? merged.CurrentContext
                   ?? throw new KubeConfigException($"the kubeconfig sets no current-context; pass --context (contexts: {string.Join(", ", contextNames)})");
        var ctx = merged.Contexts?.FirstOrDefault(c => c.Name == name)
                  ?? throw new KubeConfigException($"context '{name}' is not in the kubeconfig (contexts: {string.Join(", ", contextNames)})");
        var userName = ctx.ContextDetails?.User;
        var user = userName is null ? null : merged.Users?.FirstOrDefault(u => u.Name == userName);
        var exec = user?.UserCredentials?.ExternalExecution;
        if (exec is not null) ExecArgumentQuoting.QuoteForLibrary(exec);
        var tokenFile = userName is null || user?.UserCredentials is not { } creds || HasCredentials(creds) ? null : tokenFiles.GetValueOrDefault(userName);
        if (tokenFile is not null)
        {
            // The library has no tokenFile: give it the file's current token so it accepts the user, then let its
            // TokenFileAuth re-read the file (projected service-account tokens rotate) for every request.
            if (!File.Exists(tokenFile)) throw new KubeConfigException($"tokenFile: file '{tokenFile}' does not exist", tokenFile);
            user!.UserCredentials.Token = File.ReadAllText(tokenFile).Trim();
        }

        KubernetesClientConfiguration config;
        try
        {
            config = KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, name);
        }
        catch (LibraryKubeConfigException) when (exec is not null)
        {
            throw ExecFailed(exec);
        }
        catch (LibraryKubeConfigException e)
        {
            throw new KubeConfigException($"kubeconfig context '{name}': {e.Message}");
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new KubeConfigException($"kubeconfig context '{name}': a certificate or key cannot be read ({e.GetType().Name})");
        }
        NoClientTimeout(config);
        if (tokenFile is not null) config.TokenProvider = new TokenFileAuth(tokenFile);
        if (exec is not null && config.AccessToken is not null) config.TokenProvider = new RefreshableTokenProvider(exec, config.AccessToken);
        return new ClusterConnection(config, namespaceOverride ?? config.Namespace ?? "default", name, exec, tokenFile, CredentialFiles(merged, ctx, user));
    }

    /// <summary>The files the context's cluster and user name by path (made absolute by <see cref="Root"/>).</summary>
    private static IReadOnlyList<string> CredentialFiles(K8SConfiguration merged, Context ctx, User? user)
    {
        var cluster = merged.Clusters?.FirstOrDefault(c => c.Name == ctx.ContextDetails?.Cluster)?.ClusterEndpoint;
        var creds = user?.UserCredentials;
        return new[] { cluster?.CertificateAuthority, creds?.ClientCertificate, creds?.ClientKey }
            .OfType<string>().Where(p => p.Length > 0).ToList();
    }

    /// <summary>The kubeconfig files kubectl would read, in order.</summary>
    public static IReadOnlyList<string> Files(string? explicitPath, Func<string, string?> environment)
    {
        if (explicitPath is not null)
        {
            if (!File.Exists(explicitPath)) throw new KubeConfigException($"kubeconfig '{explicitPath}' does not exist", explicitPath);
            return [Path.GetFullPath(explicitPath)];
        }
        if (environment("KUBECONFIG") is { Length: > 0 } list)
            return list.Split(OperatingSystem.IsWindows() ? ';' : ':', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).Select(Path.GetFullPath).ToList();
        var home = environment("HOME") ?? environment("USERPROFILE");
        var fallback = home is null ? null : Path.Combine(home, ".kube", "config");
        return fallback is not null && File.Exists(fallback) ? [fallback] : [];
    }

    /// <summary>
    /// In-cluster config: the API server from KUBERNETES_SERVICE_HOST/PORT and the pod's service-account token, CA and
    /// namespace. At the real path this is the library's <see cref="KubernetesClientConfiguration.InClusterConfig"/>; another
    /// root (tests) is read with the same library pieces.
    /// </summary>
    public static ClusterConnection? InCluster(Func<string, string?> environment, string root)
    {
        var host = environment("KUBERNETES_SERVICE_HOST");
        var port = environment("KUBERNETES_SERVICE_PORT");
        var tokenFile = Path.Combine(root, "token");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port) || !File.Exists(tokenFile)) return null;
        KubernetesClientConfiguration config;
        if (root == ServiceAccountRoot && KubernetesClientConfiguration.IsInCluster())
        {
            config = KubernetesClientConfiguration.InClusterConfig();
        }
        else
        {
            var ca = Path.Combine(root, "ca.crt");
            var roots = new X509Certificate2Collection();
            if (File.Exists(ca)) roots.ImportFromPemFile(ca);
            var nsFile = Path.Combine(root, "namespace");
            config = new KubernetesClientConfiguration
            {
                Host = new UriBuilder("https", host, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)).Uri.ToString(),
                SslCaCerts = roots,
                TokenProvider = new TokenFileAuth(tokenFile),
                Namespace = File.Exists(nsFile) ? File.ReadAllText(nsFile).Trim() : null,
            };
        }
        NoClientTimeout(config);
        return new ClusterConnection(config, config.Namespace ?? "default", null, null, tokenFile);
    }

    /// <summary>
    /// The library's default 100 s HttpClient timeout would cut every watch; Kubestead bounds each wait with its own
    /// CancellationToken and TimeProvider instead.
    /// </summary>
    private static void NoClientTimeout(KubernetesClientConfiguration config) => config.HttpClientTimeout = Timeout.InfiniteTimeSpan;

    private static bool HasCredentials(UserCredentials c) =>
        !string.IsNullOrEmpty(c.Token) || !string.IsNullOrEmpty(c.UserName) || !string.IsNullOrEmpty(c.ClientCertificateData)
        || !string.IsNullOrEmpty(c.ClientCertificate) || c.ExternalExecution is not null || c.AuthProvider is not null;

    private static (K8SConfiguration Config, Dictionary<string, string> TokenFiles) Load(IReadOnlyList<string> files)
    {
        K8SConfiguration? merged = null;
        var tokenFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            K8SConfiguration config;
            IReadOnlyDictionary<string, string> fileTokens;
            try
            {
                (config, fileTokens) = KubeConfigDocument.Read(file);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new KubeConfigException($"kubeconfig '{file}' is not valid YAML (line {e.Start.Line}): {e.Message.Split('\n')[0]}", file);
            }
            var dir = Path.GetDirectoryName(file)!;
            var known = merged?.Users?.Select(u => u.Name).ToHashSet(StringComparer.Ordinal) ?? [];
            foreach (var (user, path) in fileTokens)
                if (!known.Contains(user)) tokenFiles.TryAdd(user, Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path)));
            Root(config, dir);
            merged = merged is null ? config : Merge(merged, config);
        }
        return (merged!, tokenFiles);
    }

    /// <summary>
    /// Makes file references absolute against the file that names them. The library resolves them against the first file
    /// of a merge, which breaks a second file's relative certificate paths.
    /// </summary>
    private static void Root(K8SConfiguration config, string dir)
    {
        static string? Abs(string? path, string dir) => string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));
        foreach (var c in config.Clusters ?? [])
            if (c.ClusterEndpoint is { } e) e.CertificateAuthority = Abs(e.CertificateAuthority, dir);
        foreach (var u in config.Users ?? [])
        {
            if (u.UserCredentials is not { } creds) continue;
            creds.ClientCertificate = Abs(creds.ClientCertificate, dir);
            creds.ClientKey = Abs(creds.ClientKey, dir);
            // kubectl runs a relative command that contains a slash from the kubeconfig's directory.
            if (creds.ExternalExecution is { Command: { } cmd } x && cmd.Contains('/')) x.Command = Abs(cmd, dir);
        }
    }

    /// <summary>kubectl's merge: the first file wins for current-context and for each cluster, user and context name.</summary>
    private static K8SConfiguration Merge(K8SConfiguration first, K8SConfiguration next)
    {
        static List<T> Union<T>(IEnumerable<T>? a, IEnumerable<T>? b, Func<T, string> key)
        {
            var result = (a ?? []).ToList();
            var names = result.Select(key).ToHashSet(StringComparer.Ordinal);
            result.AddRange((b ?? []).Where(x => names.Add(key(x))));
            return result;
        }
        first.CurrentContext = string.IsNullOrEmpty(first.CurrentContext) ? next.CurrentContext : first.CurrentContext;
        first.Clusters = Union(first.Clusters, next.Clusters, c => c.Name);
        first.Users = Union(first.Users, next.Users, u => u.Name);
        first.Contexts = Union(first.Contexts, next.Contexts, c => c.Name);
        return first;
    }

    /// <summary>An exec plugin failure, named by its command and install hint; the plugin's output is never included.</summary>
    internal static KubeConfigException ExecFailed(ExternalExecution exec)
    {
        var installed = !exec.Command.Contains('/') ? OnPath(exec.Command) : File.Exists(exec.Command);
        return new KubeConfigException(installed
            ? $"exec credential plugin '{exec.Command}' failed or printed no usable ExecCredential (its output is not shown: it may hold secrets)"
            : $"exec credential plugin '{exec.Command}' could not be started" + (exec.InstallHint is { } hint ? $": {hint.Trim()}" : "; is it installed and on PATH?"));
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Any(dir => File.Exists(Path.Combine(dir, command)));
}
