using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Reads <see cref="SecretSource"/> values: files from disk, Secret keys from the rollout's namespace. Errors name the
/// spec field and where the value was looked for, never the value. Secrets go through a <see cref="SecretCache"/>
/// (kept 30 s; <see cref="Forget"/> after a refused credential), which a host may share with its gates and notifications.
/// </summary>
/// <param name="secrets">The cluster's Secrets; null: a Secret cannot be read (the error says so).</param>
public sealed class SecretValueReader(SecretCache? secrets, string ns)
{
    /// <param name="api">The cluster; null: a Secret cannot be read (the error says so).</param>
    public SecretValueReader(IKubernetesApi? api, string ns, TimeProvider? clock = null)
        : this(api is null ? null : new SecretCache(api, clock), ns)
    {
    }

    /// <summary>How long a Secret read through the API is used before it is read again.</summary>
    public static TimeSpan SecretTtl => SecretCache.Ttl;

    /// <summary>Drops the Secrets kept; true when there were any (a refused request may then be tried again with fresh values).</summary>
    public bool Forget() => secrets?.Forget() ?? false;

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
        if (secrets is null)
            throw new MetricsUnavailableException($"{source.Field}: {source.Describe()} cannot be read: this host has no cluster connection");
        IReadOnlyDictionary<string, string?> data;
        try
        {
            data = await secrets.GetDataAsync(ns, secret.Name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e)
        {
            var why = e.IsNotFound ? "does not exist" : e.StatusCode is 401 or 403 ? $"may not be read (HTTP {e.StatusCode}: grant get on secrets)" : $"could not be read (HTTP {e.StatusCode})";
            throw new MetricsUnavailableException($"{source.Field}: Secret {secret.Name} in namespace {ns} {why}");
        }
        if (!data.TryGetValue(secret.Key, out var encoded) || encoded is null)
            throw new MetricsUnavailableException($"{source.Field}: Secret {secret.Name} in namespace {ns} has no key '{secret.Key}' (it has: {string.Join(", ", data.Keys)})");
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
