using System.Text.Json.Nodes;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Access tokens from an OAuth 2.0 token endpoint, kept until shortly before they expire. What the request carries
/// differs by grant (client credentials with a secret, or Entra ID's federated client assertion: see
/// <see cref="ClientCredentialsGrant"/> and <see cref="EntraIdAssertionGrant"/>); the answer (RFC 6749 section 5) does not.
/// </summary>
/// <param name="field">The spec field every failure names.</param>
/// <param name="request">Builds the token request and adds the secret values it carries to the list.</param>
internal sealed class OAuth2TokenSource(Func<HttpClient> http, string field, Func<List<string>, CancellationToken, Task<HttpRequestMessage>> request, TimeProvider clock)
{
    private string? _token;
    private DateTimeOffset _renewAt;

    /// <param name="used">Receives the secret values sent, so any message built later can be scrubbed of them.</param>
    public async Task<string> TokenAsync(List<string> used, CancellationToken ct)
    {
        if (_token is not null && clock.GetUtcNow() < _renewAt) return _token;
        using var message = await request(used, ct).ConfigureAwait(false);
        var tokenUrl = UrlRedaction.Redact(message.RequestUri!);
        HttpResponseMessage response;
        string body;
        try
        {
            response = await http().SendAsync(message, ct).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new MetricsUnavailableException($"{field}: the token endpoint {tokenUrl} cannot be reached: {e.Message}");
        }
        using (response)
        {
            JsonNode? json = null;
            try { json = JsonNode.Parse(body); } catch (System.Text.Json.JsonException) { }
            if (!response.IsSuccessStatusCode || json?["access_token"] is not JsonValue value || !value.TryGetValue<string>(out var token) || token.Length == 0)
            {
                // RFC 6749 section 5.2: the error code names what was wrong (invalid_client, invalid_scope, ...).
                var error = json?["error"] is JsonValue v && v.TryGetValue<string>(out var code) ? $": {code}" : response.IsSuccessStatusCode ? ": the answer has no access_token" : "";
                throw new MetricsUnavailableException(
                    $"{field}: the token endpoint {tokenUrl} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}{error}");
            }
            var lifetime = json["expires_in"] is JsonValue e && (e.TryGetValue<double>(out var seconds) || (e.TryGetValue<string>(out var text)
                && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out seconds))) && seconds > 0
                ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromHours(1);
            // Renew before expiry: a token that expires between reading it and the server checking it fails a window.
            _renewAt = clock.GetUtcNow() + lifetime - TimeSpan.FromSeconds(Math.Min(60, lifetime.TotalSeconds / 2));
            _token = token;
            return token;
        }
    }

    /// <summary>Drops the kept token (the server refused it), so the next request asks for a new one.</summary>
    public void Forget() => _token = null;
}
