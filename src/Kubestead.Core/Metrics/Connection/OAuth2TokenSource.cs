using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Client-credentials tokens (RFC 6749 section 4.4), kept until shortly before they expire. The client authenticates
/// with HTTP Basic (section 2.3.1: the method every authorization server must accept); the client secret is read at
/// each token request.
/// </summary>
internal sealed class OAuth2TokenSource(Func<HttpClient> http, OAuth2Spec spec, SecretValueReader secrets, TimeProvider clock)
{
    private string? _token;
    private DateTimeOffset _renewAt;

    /// <param name="used">Receives the secret values sent, so any message built later can be scrubbed of them.</param>
    public async Task<string> TokenAsync(List<string> used, CancellationToken ct)
    {
        if (_token is not null && clock.GetUtcNow() < _renewAt) return _token;
        var id = await secrets.ReadAsync(spec.ClientId, ct).ConfigureAwait(false);
        var secret = await secrets.ReadAsync(spec.ClientSecret, ct).ConfigureAwait(false);
        used.Add(secret);
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (spec.Scopes.Length > 0) form.Add(new("scope", spec.Scopes));
        using var request = new HttpRequestMessage(HttpMethod.Post, spec.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(id) + ":" + Uri.EscapeDataString(secret)));
        used.Add(encoded);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", encoded);
        HttpResponseMessage response;
        string body;
        try
        {
            response = await http().SendAsync(request, ct).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new MetricsUnavailableException($"{spec.Field}.tokenUrl: the token endpoint {UrlRedaction.Redact(spec.TokenUrl)} cannot be reached: {e.Message}");
        }
        using (response)
        {
            JsonNode? json = null;
            try { json = JsonNode.Parse(body); } catch (System.Text.Json.JsonException) { }
            if (!response.IsSuccessStatusCode || json?["access_token"]?.GetValue<string>() is not { Length: > 0 } token)
            {
                // RFC 6749 section 5.2: the error code names what was wrong (invalid_client, invalid_scope, ...).
                var error = json?["error"] is JsonValue v && v.TryGetValue<string>(out var code) ? $": {code}" : response.IsSuccessStatusCode ? ": the answer has no access_token" : "";
                throw new MetricsUnavailableException(
                    $"{spec.Field}.tokenUrl: the token endpoint {UrlRedaction.Redact(spec.TokenUrl)} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}{error}");
            }
            var lifetime = json["expires_in"] is JsonValue e && e.TryGetValue<double>(out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromHours(1);
            // Renew before expiry: a token that expires between reading it and the server checking it fails a window.
            _renewAt = clock.GetUtcNow() + lifetime - TimeSpan.FromSeconds(Math.Min(60, lifetime.TotalSeconds / 2));
            _token = token;
            return token;
        }
    }

    /// <summary>Drops the kept token (the server refused it), so the next request asks for a new one.</summary>
    public void Forget() => _token = null;
}
