using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kubestead.Notifications;

/// <summary>
/// Posts one message to one sink, retrying what may pass on a second try (timeouts, connection errors, 408, 429, 5xx)
/// on the shared <see cref="Kubestead.Kubernetes.RetrySchedule"/>, and giving up at once on what will not (other 4xx: a revoked URL, a malformed card).
/// Returns null when delivered, otherwise why not, with the sink's address redacted.
/// </summary>
public sealed class NotificationDelivery(HttpClient http, NotificationOptions options)
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(1);

    public async Task<string?> SendAsync(ResolvedSink sink, RolloutNotification n, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(Render(sink, n).ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        string why = "not sent";
        // The one retry policy of Kubestead (capped exponential backoff with equal jitter, Retry-After honoured), bounded
        // by the message's attempts; a Retry-After beyond a minute is cut to one, as a driver must not wait on a sink.
        var schedule = new Kubestead.Kubernetes.RetrySchedule(
            new Kubestead.Kubernetes.RetryPolicy(options.Attempts, options.FirstRetryDelay, MaxRetryAfter), options.RetryClock, options.Jitter);
        for (var attempt = 1; attempt <= options.Attempts; attempt++)
        {
            TimeSpan? retryAfter = null;
            using var timeout = new CancellationTokenSource(options.RequestTimeout, options.RetryClock);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                using var request = Request(sink, body);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return null;
                var code = (int)response.StatusCode;
                why = $"HTTP {code} {response.ReasonPhrase}".TrimEnd();
                if (code is >= 400 and < 500 and not 408 and not 429) return Failed(sink, n, attempt, why);
                retryAfter = response.Headers.RetryAfter?.Delta;
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                why = $"no answer within {options.RequestTimeout.TotalSeconds:0.#}s";
            }
            catch (HttpRequestException e)
            {
                why = NotificationUrl.Scrub(e.InnerException?.Message ?? e.Message, sink.Url);
            }
            if (schedule.NextDelay(retryAfter is { } ra && ra > MaxRetryAfter ? MaxRetryAfter : retryAfter) is not { } backoff) break;
            await Task.Delay(backoff, options.RetryClock, ct).ConfigureAwait(false);
        }
        return Failed(sink, n, options.Attempts, why);
    }

    private static string Failed(ResolvedSink sink, RolloutNotification n, int attempts, string why) =>
        $"notification '{n.Event}' to {sink} not delivered after {attempts} attempt{(attempts == 1 ? "" : "s")}: {why}";

    public static JsonObject Render(ResolvedSink sink, RolloutNotification n) => sink.Spec.Type switch
    {
        NotificationSinkTypes.Teams => TeamsCardPayload.Render(n),
        NotificationSinkTypes.Slack => SlackBlocksPayload.Render(n),
        _ => WebhookPayload.Render(n),
    };

    private HttpRequestMessage Request(ResolvedSink sink, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, sink.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (sink.SigningKey is { } key)
        {
            var now = options.RetryClock.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Add(WebhookSignature.TimestampHeader, now.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(key, now, body));
        }
        return request;
    }
}
