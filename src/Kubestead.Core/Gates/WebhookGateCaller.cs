using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Notifications;

namespace Kubestead.Gates;

/// <summary>
/// Makes one gate call: reads the URL (and signing key) from the gate's file or Secret, posts the payload signed like the
/// notification webhook, and passes only on a 2xx. Everything else fails closed: an unreadable URL, a refused
/// connection, no answer within the gate's timeout, any other status. One attempt per call: a failed gate pauses or
/// aborts the rollout, and resuming it calls again. The URL is never in what this returns, only its scheme, host and port.
/// </summary>
/// <param name="secrets">The host's Secret cache, shared with its notifications (one GET per Secret per 30 s).</param>
public sealed class WebhookGateCaller(HttpClient http, SecretCache secrets, TimeProvider timeoutClock)
{
    private readonly SecretSourceReader _secrets = new(secrets);

    public async Task<WebhookGateOutcome> CallAsync(WebhookGateSpec gate, WebhookGateContext context, CancellationToken ct)
    {
        var (outcome, refused) = await CallOnceAsync(gate, context, ct).ConfigureAwait(false);
        // A 401/403 may mean the Secret was rotated while the cache held the old value: read it again and call once more
        // (the same idempotency key, so the receiver sees one call made twice, never two calls).
        if (refused && (gate.Url.Secret is not null || gate.SigningKey?.Secret is not null) && _secrets.Forget())
            (outcome, _) = await CallOnceAsync(gate, context, ct).ConfigureAwait(false);
        return outcome;
    }

    private async Task<(WebhookGateOutcome Outcome, bool Refused)> CallOnceAsync(WebhookGateSpec gate, WebhookGateContext context, CancellationToken ct)
    {
        Uri url;
        byte[]? key = null;
        try
        {
            var text = await _secrets.ReadAsync(gate.Url, context.Namespace, ct).ConfigureAwait(false);
            if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                return (Failed(gate, $"{gate.Url.Field}: the URL in {gate.Url.Describe()} is not an absolute http(s) URL"), false);
            url = parsed;
            if (gate.SigningKey is { } source)
            {
                var value = await _secrets.ReadAsync(source, context.Namespace, ct).ConfigureAwait(false);
                if (value.Length == 0) return (Failed(gate, $"{source.Field}: the signing key in {source.Describe()} is empty"), false);
                key = Encoding.UTF8.GetBytes(value);
            }
        }
        catch (NotificationConfigException e)
        {
            return (Failed(gate, e.Message), false);
        }

        var body = Encoding.UTF8.GetBytes(WebhookGatePayload.Render(gate, context).ToJsonString());
        using var timeout = new CancellationTokenSource(gate.Timeout, timeoutClock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var where = NotificationUrl.Redact(url);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add(WebhookGatePayload.IdempotencyKeyHeader, context.IdempotencyKey(gate));
            if (key is not null)
            {
                var now = timeoutClock.GetUtcNow().ToUnixTimeSeconds();
                request.Headers.Add(WebhookSignature.TimestampHeader, now.ToString(CultureInfo.InvariantCulture));
                request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(key, now, body));
            }
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
            return response.IsSuccessStatusCode
                ? (new WebhookGateOutcome(true, $"webhook {gate.Name} ({gate.Point}) passed: {status} from {where}"), false)
                : (Failed(gate, $"{status} from {where}"), (int)response.StatusCode is 401 or 403);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return (Failed(gate, $"no answer within {Kubestead.Specs.SpecDuration.Format(gate.Timeout)} from {where}"), false);
        }
        catch (HttpRequestException e)
        {
            return (Failed(gate, $"{NotificationUrl.Scrub(e.InnerException?.Message ?? e.Message, url)} ({where})"), false);
        }
    }

    private static WebhookGateOutcome Failed(WebhookGateSpec gate, string why) =>
        new(false, $"webhook {gate.Name} ({gate.Point}) failed: {why}");
}
