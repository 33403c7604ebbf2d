using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Sends a metrics provider's requests with its connection settings: headers, credentials read at each request, TLS.
/// Every failure it raises names the server, the spec field at fault and the HTTP status; the credential values sent
/// are scrubbed from every message (a server that echoes a header back cannot leak it through an error).
/// </summary>
public sealed partial class MetricsHttpConnection
{
    private readonly HttpClient _plain;
    private readonly TlsHttpClients _tlsClients;
    private readonly HttpConnectionSpec? _spec;
    private readonly SecretValueReader _secrets;
    private readonly OAuth2TokenSource? _oauth2;
    private readonly Aws.AwsCredentialChain? _aws;
    private readonly TimeProvider _clock;
    private readonly string _fallbackField;

    /// <param name="plain">The client used without TLS settings (and for the OAuth2 token endpoint then).</param>
    /// <param name="server">The server as messages name it, e.g. "Prometheus at https://prom:9090/".</param>
    /// <param name="fallbackField">The field a failure names when no connection block exists (the address).</param>
    /// <param name="environment">Where Entra ID's workload identity variables are read; null: the process environment.</param>
    public MetricsHttpConnection(HttpClient plain, TlsHttpClients tlsClients, HttpConnectionSpec? spec, SecretValueReader secrets, string server,
        string fallbackField, TimeProvider? clock = null, Func<string, string?>? environment = null)
    {
        _plain = plain;
        _tlsClients = tlsClients;
        _spec = spec;
        _secrets = secrets;
        Server = server;
        _fallbackField = fallbackField;
        _clock = clock ?? TimeProvider.System;
        if (spec?.SigV4 is { } sigv4) _aws = new Aws.AwsCredentialChain(sigv4, secrets, environment ?? Environment.GetEnvironmentVariable);
        // The token endpoint is reached with the same TLS settings as the API (a private CA usually signs both); Entra
        // ID's is public, so it goes through the plain client.
        if (spec?.OAuth2 is { } oauth2)
            _oauth2 = new OAuth2TokenSource(Client, $"{oauth2.Field}.tokenUrl", ClientCredentialsGrant.Request(oauth2, secrets), clock ?? TimeProvider.System);
        else if (spec?.EntraId is { } entra)
            _oauth2 = new OAuth2TokenSource(() => _plain, entra.Field,
                EntraIdAssertionGrant.Request(entra, secrets, environment ?? Environment.GetEnvironmentVariable), clock ?? TimeProvider.System);
    }

    /// <summary>The server as messages name it.</summary>
    public string Server { get; }

    /// <summary>
    /// GETs <paramref name="url"/> within <paramref name="timeout"/>; a 401 or 403 is an error naming the credentials'
    /// field, other statuses are returned.
    /// </summary>
    public Task<MetricsHttpAnswer> GetAsync(Uri url, TimeSpan timeout, CancellationToken ct) => SendAsync(HttpMethod.Get, url, null, timeout, ct);

    /// <summary>
    /// Sends <paramref name="method"/> to <paramref name="url"/> with the body <paramref name="content"/> makes (a query
    /// API that takes its query in a POST body), as <see cref="GetAsync"/> does.
    /// </summary>
    public async Task<MetricsHttpAnswer> SendAsync(HttpMethod method, Uri url, Func<HttpContent>? content, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            return await SendAsync(method, url, content, retried: false, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new MetricsUnavailableException($"{Server} did not answer within {timeout.TotalSeconds:0}s");
        }
    }

    private async Task<MetricsHttpAnswer> SendAsync(HttpMethod method, Uri url, Func<HttpContent>? content, bool retried, CancellationToken ct)
    {
        var used = new List<string>();
        try
        {
            var client = Client();
            using var request = new HttpRequestMessage(method, url) { Content = content?.Invoke() };
            foreach (var (name, value) in _spec?.Headers ?? [])
                request.Headers.TryAddWithoutValidation(name, value);
            await AuthenticateAsync(request, used, ct).ConfigureAwait(false);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                var tls = _spec?.Tls is { } t ? _tlsClients.For(t).Refusal.Reason : null;
                throw new MetricsUnavailableException(tls is not null
                    ? $"{Server} ({tls}): the TLS handshake failed"
                    : $"{Server} ({_fallbackField}) cannot be reached: {e.Message}", e);
            }
            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is 401 or 403)
                {
                    _oauth2?.Forget();
                    // Credentials from a kept Secret may be stale (rotated since): once, read them afresh and try again.
                    if (!retried && _secrets.Forget()) return await SendAsync(method, url, content, retried: true, ct).ConfigureAwait(false);
                    // Without credentials, a tenant header is what a gateway in front of Mimir or Cortex checks.
                    var field = _spec?.AuthField ?? (_spec?.Headers is { Count: > 0 } ? $"{_spec.Field}.headers" : null);
                    throw new MetricsUnavailableException(field is null
                        ? $"{Server} ({_fallbackField}) answered HTTP {status} {response.ReasonPhrase}: it asks for credentials; give basicAuth, bearerToken, oauth2, entraId or sigv4"
                        : _spec?.AuthField is null
                            ? $"{Server} ({field}) answered HTTP {status} {response.ReasonPhrase}: the headers were refused, or it asks for credentials{Detail(body)}"
                            : $"{Server} ({field}) answered HTTP {status} {response.ReasonPhrase}: the credentials were refused{Detail(body)}");
                }
                var retryAfter = response.Headers.RetryAfter is { } ra
                    ? ra.Delta ?? (ra.Date is { } date ? date - DateTimeOffset.UtcNow : null)
                    : null;
                // A provider builds its errors from the body after this returns (NerdGraph answers a refused key with
                // HTTP 200 and the key quoted): the credentials sent are masked in it here, once for every provider.
                return new MetricsHttpAnswer(status, response.ReasonPhrase ?? "", Scrub(body, used), retryAfter);
            }
        }
        catch (MetricsUnavailableException e) when (used.Count > 0 && used.Any(s => s.Length > 0 && e.Message.Contains(s, StringComparison.Ordinal)))
        {
            throw new MetricsUnavailableException(Scrub(e.Message, used));
        }
    }

    /// <summary>An error page's own words where they are short: an HTML page's title (nginx: "400 No required SSL certificate was sent").</summary>
    public static string Detail(string body)
    {
        var title = HtmlTitle().Match(body);
        if (title.Success) return ": " + title.Groups[1].Value.Trim();
        // AWS says why a signature was refused (expired, wrong region, signature mismatch) in <Message> or "message".
        var aws = AwsMessage().Match(body);
        return aws.Success ? ": " + (aws.Groups[1].Success ? aws.Groups[1].Value : aws.Groups[2].Value).Trim() : "";
    }

    private HttpClient Client() => _spec?.Tls is { } tls ? _tlsClients.For(tls).Client : _plain;

    private async Task AuthenticateAsync(HttpRequestMessage request, List<string> used, CancellationToken ct)
    {
        if (_spec is null) return;
        if (_spec.BasicAuth is { } basic)
        {
            var user = await _secrets.ReadAsync(basic.Username, ct).ConfigureAwait(false);
            var password = await _secrets.ReadAsync(basic.Password, ct).ConfigureAwait(false);
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));
            // The header as sent is as secret as the password: an echoing server must not leak it in base64 either.
            used.Add(password);
            used.Add(encoded);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", encoded);
        }
        else if (_spec.BearerToken is { } bearer)
        {
            var token = await _secrets.ReadAsync(bearer, ct).ConfigureAwait(false);
            used.Add(token);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (_oauth2 is not null)
        {
            var token = await _oauth2.TokenAsync(used, ct).ConfigureAwait(false);
            used.Add(token);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        foreach (var header in _spec.SecretHeaders ?? [])
        {
            var value = await _secrets.ReadAsync(header.Value, ct).ConfigureAwait(false);
            used.Add(value);
            request.Headers.TryAddWithoutValidation(header.Name, value);
        }
        // Signed last: the signature covers every header set above, so it must see them all.
        if (_aws is not null && _spec.SigV4 is { } sigv4)
        {
            var credentials = await _aws.ReadAsync(ct).ConfigureAwait(false);
            used.Add(credentials.SecretAccessKey);
            if (credentials.SessionToken is { } token) used.Add(token);
            await Aws.SigV4Signer.SignAsync(request, credentials, sigv4.Region, sigv4.Service, _clock.GetUtcNow(), ct).ConfigureAwait(false);
        }
    }

    private static string Scrub(string message, IEnumerable<string> secrets) =>
        secrets.Where(s => s.Length > 0).Aggregate(message, (m, s) => m.Replace(s, UrlRedaction.Mask, StringComparison.Ordinal));

    [GeneratedRegex("<title>([^<]{1,200})</title>", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlTitle();

    [GeneratedRegex(@"<Message>([^<]{1,300})</Message>|""[mM]essage""\s*:\s*""([^""\\]{1,300})""")]
    private static partial Regex AwsMessage();
}
