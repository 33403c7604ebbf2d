using Kubestead.LoadTests;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.LoadTests;

/// <summary>The load test over HTTP, against a receiver on 127.0.0.1, paced on a clock the test moves.</summary>
public class HttpLoadGeneratorTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>
    /// This test's marker value. A full run once counted 5 arrivals at the receiver for 3 sends. Receivers take free
    /// loopback ports, and a port another test's receiver gave up can still get that test's late requests (a notifier's
    /// retry, a webhook gate's poll), so the counts read only requests that carry this test's own marker, and a failure
    /// lists every arrival's marker to say where the others came from.
    /// </summary>
    private readonly string _rollout = $"shop-{Guid.NewGuid():N}"[..13];

    private LoadTestRun Run(Uri url, LoadTestTarget? control = null) => new("shop", _rollout, new LoadTestSpec(
        url.ToString(), 10, new Dictionary<string, string> { ["x-canary"] = "true" }, "GET", TimeSpan.FromSeconds(5),
        LoadTestSpec.DefaultMarkerHeader, LoadTestSpec.DefaultMetricLabel, control));

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within the generous deadline");
            await Task.Delay(20);
        }
    }

    /// <summary>The requests this test's generator sent that reached <paramref name="receiver"/>.</summary>
    private List<LoopbackReceiver.Received> Mine(LoopbackReceiver receiver) =>
        receiver.Requests.Where(r => r.Headers.TryGetValue(LoadTestSpec.DefaultMarkerHeader, out var v) && v == _rollout).ToList();

    /// <summary>What arrived, for a failure message: every request's marker.</summary>
    private static string Arrivals(LoopbackReceiver receiver) =>
        string.Join(", ", receiver.Requests.Select(r => r.Headers.TryGetValue(LoadTestSpec.DefaultMarkerHeader, out var v) ? v : "(no marker)"));

    [Fact]
    public async Task It_sends_marked_requests_with_the_route_headers_at_the_rate_and_nothing_after_it_returns()
    {
        using var receiver = new LoopbackReceiver("/checkout");
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);
        using var stop = new CancellationTokenSource();
        using var answers = new AnswerCounter();
        var run = Task.Run(() => new HttpLoadGenerator(answers, clock).RunAsync(Run(receiver.Url), stop.Token));
        // 10 per second: one at once, then one every 100 ms of the generator's clock (moved once the run has begun).
        await WaitForAsync(() => Mine(receiver).Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(400));
        // Stop only once the generator's client holds all five answers: a stop cancels what is still out (counted
        // unanswered, by design), and an answer the receiver has sent can still be on its way (a full run once stopped
        // with 2 of 5 back).
        await WaitForAsync(() => Mine(receiver).Count >= 5 && answers.Count >= 5);
        stop.Cancel();
        var tally = await run.WaitAsync(Generous);

        Assert.True(tally.Sent == 5, $"sent {tally.Sent}; arrived: {Arrivals(receiver)}");
        Assert.Equal(5, tally.Answered);
        Assert.Equal(0, tally.Unanswered);
        var mine = Mine(receiver);
        Assert.True(mine.Count == 5, $"{mine.Count} of this test's requests arrived; all arrivals: {Arrivals(receiver)}");
        Assert.All(mine, r =>
        {
            Assert.Equal("/checkout", r.Path);
            Assert.Equal("true", r.Headers["x-canary"]);
        });
        // Time goes on after the run returned: nothing of it is left to send.
        clock.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.Equal(5, Mine(receiver).Count);
    }

    [Fact]
    public async Task Stopping_it_ends_requests_a_hung_target_never_answers()
    {
        using var receiver = new LoopbackReceiver("/") { Status = null };
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new HttpLoadGenerator(clock: clock).RunAsync(Run(receiver.Url), stop.Token));
        await WaitForAsync(() => Mine(receiver).Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await WaitForAsync(() => Mine(receiver).Count >= 3);
        stop.Cancel();
        var tally = await run.WaitAsync(Generous);
        Assert.Equal(3, tally.Sent);
        Assert.Equal(3, tally.Unanswered);
    }

    [Fact]
    public async Task A_control_stream_goes_without_the_route_headers_but_marked()
    {
        using var canary = new LoopbackReceiver("/");
        using var control = new LoopbackReceiver("/");
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new HttpLoadGenerator(clock: clock)
            .RunAsync(Run(canary.Url, new LoadTestTarget(control.Url.ToString(), new Dictionary<string, string>())), stop.Token));
        await WaitForAsync(() => Mine(canary).Count >= 1 && Mine(control).Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await WaitForAsync(() => Mine(canary).Count >= 2 && Mine(control).Count >= 2);
        stop.Cancel();
        var tally = await run.WaitAsync(Generous);
        Assert.Equal(4, tally.Sent);
        // Marked with the rollout (Mine reads the marker), and without the canary's route header.
        Assert.Equal(2, Mine(control).Count);
        Assert.All(Mine(control), r => Assert.False(r.Headers.ContainsKey("x-canary")));
    }

    /// <summary>The real network, counting the answers whose headers reached the client (what the generator tallies as answered).</summary>
    private sealed class AnswerCounter() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _count);
            return response;
        }
    }
}
