using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>
/// Secrets read through the API, kept for <see cref="Ttl"/>: a metrics window's requests, a rollout's gate calls and its
/// notification sinks would otherwise each cost a GET of the same Secret. A refused credential drops them
/// (<see cref="Forget"/>), so a rotated Secret is used at the next call rather than up to 30 s later. Only the
/// <c>data</c> map is kept (copied, so concurrent readers never share a mutable JSON node).
/// </summary>
public sealed class SecretCache(IKubernetesApi api, TimeProvider? clock = null)
{
    /// <summary>How long a Secret read through the API is used before it is read again.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    private readonly Dictionary<(string Namespace, string Name), (IReadOnlyDictionary<string, string?> Data, DateTimeOffset ReadAt)> _kept = new();

    /// <summary>The Secret's <c>data</c> (base64 values by key); throws the API's <see cref="KubernetesApiException"/>.</summary>
    public async Task<IReadOnlyDictionary<string, string?>> GetDataAsync(string ns, string name, CancellationToken ct)
    {
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        lock (_kept)
            if (_kept.TryGetValue((ns, name), out var kept) && now - kept.ReadAt < Ttl) return kept.Data;
        var secret = await api.GetAsync(ResourceType.Secret, ns, name, ct).ConfigureAwait(false);
        var data = (secret["data"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null,
            StringComparer.Ordinal);
        lock (_kept) _kept[(ns, name)] = (data, now);
        return data;
    }

    /// <summary>Drops the Secrets kept; true when there were any (a refused request may then be tried again with fresh values).</summary>
    public bool Forget()
    {
        lock (_kept)
        {
            var had = _kept.Count > 0;
            _kept.Clear();
            return had;
        }
    }
}
