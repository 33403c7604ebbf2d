using System.Text;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Kubernetes;

/// <summary>
/// Loads kubeconfig files the way kubectl does: an explicit path, else every file in $KUBECONFIG (':'-separated; ';'
/// on Windows) merged with the first file winning for each cluster, user and context name and for current-context,
/// else ~/.kube/config, else in-cluster service-account config. Relative paths resolve against the file that names them.
/// </summary>
public static class KubeConfigLoader
{
    public static ClusterConnection Resolve(string? explicitPath = null, string? context = null, string? namespaceOverride = null,
        Func<string, string?>? environment = null, string? inClusterRoot = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var files = Files(explicitPath, environment);
        if (files.Count == 0)
        {
            var inCluster = InCluster(environment, inClusterRoot ?? "/var/run/secrets/kubernetes.io/serviceaccount");
            if (inCluster is not null) return namespaceOverride is null ? inCluster : inCluster with { Namespace = namespaceOverride };
            throw new KubeConfigException("no kubeconfig found: set KUBECONFIG, pass --kubeconfig/-KubeConfig, or create ~/.kube/config (or run inside a cluster)");
        }
        var config = Load(files);
        return Connection(config, context, namespaceOverride);
    }

    public static IReadOnlyList<string> Files(string? explicitPath, Func<string, string?> environment)
    {
        if (explicitPath is not null)
        {
            if (!File.Exists(explicitPath)) throw new KubeConfigException($"kubeconfig '{explicitPath}' does not exist", explicitPath);
            return [explicitPath];
        }
        if (environment("KUBECONFIG") is { Length: > 0 } list)
            return list.Split(OperatingSystem.IsWindows() ? ';' : ':', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).ToList();
        var home = environment("HOME") ?? environment("USERPROFILE");
        var fallback = home is null ? null : Path.Combine(home, ".kube", "config");
        return fallback is not null && File.Exists(fallback) ? [fallback] : [];
    }

    public static KubeConfig Load(IReadOnlyList<string> files)
    {
        var config = new KubeConfig();
        foreach (var file in files)
        {
            JsonObject doc;
            try
            {
                doc = YamlToJson(File.ReadAllText(file)) as JsonObject ?? new JsonObject();
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new KubeConfigException($"kubeconfig '{file}' is not valid YAML (line {e.Start.Line}): {e.Message.Split('\n')[0]}", file);
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".";
            config.CurrentContext ??= doc["current-context"]?.ToString() is { Length: > 0 } cc ? cc : null;
            foreach (var c in (doc["clusters"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                if (c["name"]?.ToString() is { } n && !config.Clusters.ContainsKey(n)) config.Clusters[n] = (c["cluster"] as JsonObject ?? new JsonObject(), dir);
            foreach (var u in (doc["users"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                if (u["name"]?.ToString() is { } n && !config.Users.ContainsKey(n)) config.Users[n] = (u["user"] as JsonObject ?? new JsonObject(), dir);
            foreach (var c in (doc["contexts"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                if (c["name"]?.ToString() is { } n && !config.Contexts.ContainsKey(n)) config.Contexts[n] = c["context"] as JsonObject ?? new JsonObject();
        }
        return config;
    }

    public static ClusterConnection Connection(KubeConfig config, string? contextName, string? namespaceOverride)
    {
        var name = contextName ?? config.CurrentContext
                   ?? throw new KubeConfigException($"the kubeconfig sets no current-context; pass --context (contexts: {string.Join(", ", config.ContextNames)})");
        if (!config.Contexts.TryGetValue(name, out var context))
            throw new KubeConfigException($"context '{name}' is not in the kubeconfig (contexts: {string.Join(", ", config.ContextNames)})");
        var clusterName = context["cluster"]?.ToString() ?? throw new KubeConfigException($"context '{name}' names no cluster");
        if (!config.Clusters.TryGetValue(clusterName, out var cluster))
            throw new KubeConfigException($"context '{name}' names cluster '{clusterName}', which is not in the kubeconfig");
        var userName = context["user"]?.ToString();
        (JsonObject User, string Dir) user = (new JsonObject(), cluster.Dir);
        if (userName is not null && !config.Users.TryGetValue(userName, out user))
            throw new KubeConfigException($"context '{name}' names user '{userName}', which is not in the kubeconfig");

        var server = cluster.Cluster["server"]?.ToString() ?? throw new KubeConfigException($"cluster '{clusterName}' has no server");
        var u = user.User;
        return new ClusterConnection
        {
            Server = new Uri(server.TrimEnd('/') + "/"),
            Namespace = namespaceOverride ?? context["namespace"]?.ToString() ?? "default",
            ContextName = name,
            CertificateAuthorityPem = Pem(cluster.Cluster, "certificate-authority", cluster.Dir),
            InsecureSkipTlsVerify = string.Equals(cluster.Cluster["insecure-skip-tls-verify"]?.ToString(), "true", StringComparison.OrdinalIgnoreCase),
            TlsServerName = cluster.Cluster["tls-server-name"]?.ToString(),
            Token = u["token"]?.ToString(),
            TokenFile = u["tokenFile"]?.ToString() is { } tf ? Rooted(tf, user.Dir) : null,
            ClientCertificatePem = Pem(u, "client-certificate", user.Dir),
            ClientKeyPem = Pem(u, "client-key", user.Dir),
            Username = u["username"]?.ToString(),
            Password = u["password"]?.ToString(),
            Exec = u["exec"] is JsonObject exec ? Exec(exec, user.Dir) : null,
        };
    }

    /// <summary>In-cluster config: the API server from the environment, the pod's service-account token, CA and namespace.</summary>
    public static ClusterConnection? InCluster(Func<string, string?> environment, string root)
    {
        var host = environment("KUBERNETES_SERVICE_HOST");
        var port = environment("KUBERNETES_SERVICE_PORT");
        var tokenFile = Path.Combine(root, "token");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port) || !File.Exists(tokenFile)) return null;
        var ca = Path.Combine(root, "ca.crt");
        var nsFile = Path.Combine(root, "namespace");
        var hostPart = host.Contains(':') ? $"[{host}]" : host;
        return new ClusterConnection
        {
            Server = new Uri($"https://{hostPart}:{port}/"),
            Namespace = File.Exists(nsFile) ? File.ReadAllText(nsFile).Trim() : "default",
            TokenFile = tokenFile,
            CertificateAuthorityPem = File.Exists(ca) ? File.ReadAllText(ca) : null,
        };
    }

    private static ExecCredentialConfig Exec(JsonObject exec, string dir)
    {
        var apiVersion = exec["apiVersion"]?.ToString() ?? throw new KubeConfigException("exec credential plugin without apiVersion");
        if (apiVersion is not ("client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"))
            throw new KubeConfigException($"exec credential apiVersion '{apiVersion}' is not supported (use client.authentication.k8s.io/v1 or v1beta1)");
        var command = exec["command"]?.ToString() ?? throw new KubeConfigException("exec credential plugin without command");
        var args = (exec["args"] as JsonArray ?? new JsonArray()).Select(a => a?.ToString() ?? "").ToList();
        var env = (exec["env"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(e => new KeyValuePair<string, string>(e["name"]?.ToString() ?? "", e["value"]?.ToString() ?? "")).ToList();
        return new ExecCredentialConfig(apiVersion, command, args, env, exec["installHint"]?.ToString(), dir);
    }

    private static string? Pem(JsonObject o, string key, string dir)
    {
        if (o[key + "-data"]?.ToString() is { Length: > 0 } data)
        {
            try
            {
                return Encoding.UTF8.GetString(System.Convert.FromBase64String(data));
            }
            catch (FormatException)
            {
                throw new KubeConfigException($"{key}-data is not valid base64");
            }
        }
        if (o[key]?.ToString() is { Length: > 0 } file)
        {
            var path = Rooted(file, dir);
            if (!File.Exists(path)) throw new KubeConfigException($"{key}: file '{path}' does not exist", path);
            return File.ReadAllText(path);
        }
        return null;
    }

    private static string Rooted(string path, string dir) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));

    /// <summary>YAML to JSON keeping scalar types: plain true/false and numbers become JSON booleans and numbers.</summary>
    public static JsonNode? YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    internal static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", Convert(kv.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(Convert).ToArray()),
        YamlScalarNode sc => Scalar(sc),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style != YamlDotNet.Core.ScalarStyle.Plain) return JsonValue.Create(v);
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (long.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && v.Any(char.IsDigit)) return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}
