using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// How to reach an HTTP metrics API: at most one kind of authentication, TLS settings and fixed headers (such as a
/// tenant's <c>X-Scope-OrgID</c>). <see cref="Field"/> is the provider block's path, which every failure names.
/// </summary>
public sealed record HttpConnectionSpec(
    string Field,
    BasicAuthSpec? BasicAuth = null,
    SecretSource? BearerToken = null,
    OAuth2Spec? OAuth2 = null,
    TlsSpec? Tls = null,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null,
    EntraIdSpec? EntraId = null,
    IReadOnlyList<SecretHeader>? SecretHeaders = null,
    Aws.SigV4Spec? SigV4 = null)
{
    /// <summary>The field of the authentication in use, which a 401 or 403 answer is about.</summary>
    public string? AuthField => BasicAuth?.Field ?? BearerToken?.Field ?? OAuth2?.Field ?? EntraId?.Field ?? SigV4?.Field
        ?? (SecretHeaders is { Count: > 0 } ? string.Join(" or ", SecretHeaders.Select(h => h.Value.Field)) : null);

    /// <summary>Whether a credential is read from a Kubernetes Secret (so the driver needs <c>get</c> on secrets).</summary>
    public bool ReadsSecrets =>
        new[] { BasicAuth?.Username, BasicAuth?.Password, BearerToken, OAuth2?.ClientId, OAuth2?.ClientSecret }
            .Concat((SecretHeaders ?? []).Select(h => h.Value)).Concat(SigV4?.Sources ?? []).Any(s => s?.Secret is not null);

    /// <summary>No authentication, TLS or header: the plain shared client does.</summary>
    public bool IsPlain => AuthField is null && Tls is null && (Headers is null || Headers.Count == 0);
}
