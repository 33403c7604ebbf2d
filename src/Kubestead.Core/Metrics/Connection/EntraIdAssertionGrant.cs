using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Entra ID's client-credentials request with a federated credential: the projected service account token is the
/// <c>client_assertion</c> (type <c>urn:ietf:params:oauth:client-assertion-type:jwt-bearer</c>), posted to
/// <c>{authority}/{tenant}/oauth2/v2.0/token</c>. The token file is re-read at each exchange: the kubelet rotates it.
/// </summary>
internal static class EntraIdAssertionGrant
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static readonly Uri PublicCloud = new("https://login.microsoftonline.com/");

    /// <param name="environment">Where the webhook-injected variables are read (the process environment outside tests).</param>
    public static Func<List<string>, CancellationToken, Task<HttpRequestMessage>> Request(EntraIdSpec spec, SecretValueReader secrets, Func<string, string?> environment) =>
        async (used, ct) =>
        {
            var tenant = spec.TenantId ?? Required(spec, "tenantId", "AZURE_TENANT_ID", environment);
            var client = spec.ClientId ?? Required(spec, "clientId", "AZURE_CLIENT_ID", environment);
            var tokenFile = spec.TokenFile ?? Required(spec, "tokenFile", "AZURE_FEDERATED_TOKEN_FILE", environment);
            var authority = spec.AuthorityHost
                ?? (environment("AZURE_AUTHORITY_HOST") is { Length: > 0 } host && Uri.TryCreate(host, UriKind.Absolute, out var u) ? u : PublicCloud);
            var assertion = await secrets.ReadAsync(new SecretSource($"{spec.Field}.tokenFile", File: tokenFile), ct).ConfigureAwait(false);
            used.Add(assertion);
            var url = new Uri(new Uri(authority.ToString().TrimEnd('/') + "/"), $"{Uri.EscapeDataString(tenant)}/oauth2/v2.0/token");
            return new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new FormUrlEncodedContent([
                    new("grant_type", "client_credentials"), new("client_id", client), new("scope", spec.Scope),
                    new("client_assertion_type", AssertionType), new("client_assertion", assertion),
                ]),
            };
        };

    private static string Required(EntraIdSpec spec, string key, string variable, Func<string, string?> environment) =>
        environment(variable) is { Length: > 0 } value
            ? value
            : throw new MetricsUnavailableException(
                $"{spec.Field}.{key}: not given, and {variable} is not set (the workload identity webhook sets it in pods whose service account carries azure.workload.identity/client-id)");
}
