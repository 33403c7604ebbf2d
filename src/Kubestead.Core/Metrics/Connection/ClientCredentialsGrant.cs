using System.Net.Http.Headers;
using System.Text;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// The client-credentials token request (RFC 6749 section 4.4). The client authenticates with HTTP Basic (section
/// 2.3.1: the method every authorization server must accept); the client secret is read at each token request.
/// </summary>
internal static class ClientCredentialsGrant
{
    public static Func<List<string>, CancellationToken, Task<HttpRequestMessage>> Request(OAuth2Spec spec, SecretValueReader secrets) => async (used, ct) =>
    {
        var id = await secrets.ReadAsync(spec.ClientId, ct).ConfigureAwait(false);
        var secret = await secrets.ReadAsync(spec.ClientSecret, ct).ConfigureAwait(false);
        used.Add(secret);
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (spec.Scopes.Length > 0) form.Add(new("scope", spec.Scopes));
        var request = new HttpRequestMessage(HttpMethod.Post, spec.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(id) + ":" + Uri.EscapeDataString(secret)));
        used.Add(encoded);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", encoded);
        return request;
    };
}
