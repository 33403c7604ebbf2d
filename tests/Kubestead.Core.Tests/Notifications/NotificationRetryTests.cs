using System.Net;
using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Microsoft.Extensions.Time.Testing;

namespace Kubestead.Core.Tests.Notifications;

/// <summary>Retries with backoff for what may pass later; none for what will not; URLs redacted in what is reported.</summary>
public class NotificationRetryTests
{
    private sealed class ScriptedHandler(params HttpStatusCode[] answers) : HttpMessageHandler
    {
        private int _calls;
        private readonly SemaphoreSlim _called = new(0);

        public int Calls => Volatile.Read(ref _calls);

        public async Task WaitForCallsAsync(int n)
        {
            while (Calls < n) await _called.WaitAsync(TimeSpan.FromSeconds(10));
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var i = Interlocked.Increment(ref _calls) - 1;
            _called.Release();
            return Task.FromResult(new HttpResponseMessage(answers[Math.Min(i, answers.Length - 1)]));
        }
    }

    private static readonly ResolvedSink Sink = new(
        new NotificationSinkSpec("ops", NotificationSinkTypes.Slack, new SecretSource("spec.notifications[0].url", File: "/f"), null, NotificationEvents.All),
        new Uri("https://hooks.slack.example/services/T1/B2/secretpart"), null);

    private static readonly RolloutNotification Message = new(NotificationEvents.Promoted, [NotificationEvents.Promoted],
        DateTimeOffset.UnixEpoch, "shop", "shop", "promoted") { Phase = "Completed" };

    [Fact]
    public async Task Server_errors_are_retried_after_one_then_two_seconds()
    {
        var clock = new FakeTimeProvider();
        var handler = new ScriptedHandler(HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.Accepted);
        // The jitter at its top: each wait is the whole backoff step.
        var delivery = new NotificationDelivery(new HttpClient(handler), new NotificationOptions { RetryClock = clock, Jitter = () => 1.0 });

        await AssertRetriedAfterAsync(clock, handler, delivery.SendAsync(Sink, Message, CancellationToken.None), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
    }

    /// <summary>Each retry comes exactly after its wait (not a millisecond before), then the message is delivered.</summary>
    private static async Task AssertRetriedAfterAsync(FakeTimeProvider clock, ScriptedHandler handler, Task<string?> send, params TimeSpan[] waits)
    {
        for (var i = 0; i < waits.Length; i++)
        {
            await handler.WaitForCallsAsync(i + 1);
            clock.Advance(waits[i] - TimeSpan.FromMilliseconds(1));
            Assert.Equal(i + 1, handler.Calls);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Null(await send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(waits.Length + 1, handler.Calls);
    }

    [Fact]
    public async Task Retries_follow_the_shared_retry_schedule_with_its_jitter_and_honour_retry_after()
    {
        var clock = new FakeTimeProvider();
        var handler = new ScriptedHandler(HttpStatusCode.BadGateway, HttpStatusCode.TooManyRequests, HttpStatusCode.Accepted);
        var retryAfter = new RetryAfterHandler(handler, TimeSpan.FromSeconds(7));
        // The jitter at its bottom: the first wait is half the step (0.5 s), as RetrySchedule gives every Kubestead retry.
        var delivery = new NotificationDelivery(new HttpClient(retryAfter), new NotificationOptions { RetryClock = clock, Jitter = () => 0.0 });

        // The 429 asked for 7 s: taken as given, not the 1 s backoff.
        await AssertRetriedAfterAsync(clock, handler, delivery.SendAsync(Sink, Message, CancellationToken.None), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(7));
    }

    /// <summary>Adds a Retry-After to every 429 of the inner handler.</summary>
    private sealed class RetryAfterHandler(HttpMessageHandler inner, TimeSpan after) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(after);
            return response;
        }
    }

    [Fact]
    public async Task A_client_error_is_not_retried_and_the_failure_shows_no_more_of_the_url_than_its_host()
    {
        var handler = new ScriptedHandler(HttpStatusCode.NotFound);
        var delivery = new NotificationDelivery(new HttpClient(handler), new NotificationOptions());

        var failure = await delivery.SendAsync(Sink, Message, CancellationToken.None);

        Assert.Equal(1, handler.Calls);
        Assert.Equal("notification 'promoted' to sink ops (slack, https://hooks.slack.example/…) not delivered after 1 attempt: HTTP 404 Not Found", failure);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_and_reported_without_the_url()
    {
        var clock = new FakeTimeProvider();
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        var sink = new ResolvedSink(Sink.Spec, new Uri($"http://127.0.0.1:{port}/services/T1/B2/secretpart"), null);
        var delivery = new NotificationDelivery(new HttpClient(), new NotificationOptions { Attempts = 1, RetryClock = clock });

        var failure = await delivery.SendAsync(sink, Message, CancellationToken.None);

        Assert.StartsWith($"notification 'promoted' to sink ops (slack, http://127.0.0.1:{port}/…) not delivered after 1 attempt: ", failure);
        Assert.DoesNotContain("secretpart", failure);
    }
}
