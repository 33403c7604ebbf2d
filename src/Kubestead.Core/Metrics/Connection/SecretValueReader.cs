using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Reads <see cref="SecretSource"/> values: files from disk, Secret keys from the rollout's namespace. Errors name the
/// spec field and where the value was looked for, never the value. A Secret read through the API is kept for
/// <see cref="SecretTtl"/> (a window's 4 to 12 requests would otherwise cost as many API GETs); a refused credential
/// drops them (<see cref="Forget"/>), so a rotated Secret is used at the next request, not 30 s later.
/// </summary>
/// <param name="api">The cluster; null: a Secret cannot be read (the error says so).</param>
public sealed class SecretValueReader(IKubernetesApi? api, string ns, TimeProvider? clock = null)
{
    /// <summary>How long a Secret read through the API is used before it is read again.</summary>
    public static readonly TimeSpan SecretTtl = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (System.Text.Json.Nodes.JsonObject Secret, DateTimeOffset ReadAt)> _secrets = new(StringComparer.Ordinal);

    /// <summary>Drops the Secrets kept; true when there were any (a refused request may then be tried again with fresh values).</summary>
    public bool Forget()
    {
        lock (_secrets)
        {
            var had = _secrets.Count > 0;
            _secrets.Clear();
            return had;
        }
    }

    public async Task<string> ReadAsync(SecretSource source, CancellationToken ct)
    {
        if (source.Literal is not null) return source.Literal;
        if (source.File is { } file)
        {
            try
            {
                return (await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MetricsUnavailableException($"{source.Field}: cannot read {source.Describe()}: {e.GetType().Name}");
            }
        }
        var secret = source.Secret!;
        if (api is null)
            throw new MetricsUnavailableException($"{source.Field}: {source.Describe()} cannot be read: this host has no cluster connection");
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        System.Text.Json.Nodes.JsonObject? obj = null;
        lock (_secrets)
            if (_secrets.TryGetValue(secret.Name, out var kept) && now - kept.ReadAt < SecretTtl) obj = kept.Secret;
        if (obj is null)
        {
            try
            {
                obj = await api.GetAsync(ResourceType.Secret, ns, secret.Name, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e)
            {
                var why = e.IsNotFound ? "does not exist" : e.StatusCode is 401 or 403 ? $"may not be read (HTTP {e.StatusCode}: grant get on secrets)" : $"could not be read (HTTP {e.StatusCode})";
                throw new MetricsUnavailableException($"{source.Field}: Secret {secret.Name} in namespace {ns} {why}");
            }
            lock (_secrets) _secrets[secret.Name] = (obj, now);
        }
        if (obj["data"]?[secret.Key]?.GetValue<string>() is not { } encoded)
        {
            var keys = obj["data"] is System.Text.Json.Nodes.JsonObject data ? string.Join(", ", data.Select(kv => kv.Key)) : "";
            throw new MetricsUnavailableException($"{source.Field}: Secret {secret.Name} in namespace {ns} has no key '{secret.Key}' (it has: {keys})");
        }
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Trim();
        }
        catch (FormatException)
        {
            throw new MetricsUnavailableException($"{source.Field}: key '{secret.Key}' of Secret {secret.Name} is not base64");
        }
    }
}
