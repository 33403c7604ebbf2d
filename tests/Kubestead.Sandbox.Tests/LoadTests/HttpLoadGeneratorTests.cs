using Kubestead.LoadTests;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.LoadTests;

/// <summary>The load test over HTTP, against a receiver on 127.0.0.1, paced on a clock the test moves.</summary>
public class HttpLoadGeneratorTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static LoadTestRun Run(Uri url, LoadTestTarget? control = null) => new("shop", "shop", new LoadTestSpec(
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

    [Fact]
    public async Task It_sends_marked_requests_with_the_route_headers_at_the_rate_and_nothing_after_it_returns()
    {
        using var receiver = new LoopbackReceiver("/checkout");
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new HttpLoadGenerator(clock: clock).RunAsync(Run(receiver.Url), stop.Token));
        // 10 per second: one at once, then one every 100 ms of the generator's clock (moved once the run has begun).
        await WaitForAsync(() => receiver.Requests.Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(400));
        await WaitForAsync(() => receiver.Requests.Count >= 5);
        stop.Cancel();
        var tally = await run.WaitAsync(Generous);

        Assert.Equal(5, tally.Sent);
        Assert.Equal(5, tally.Answered);
        Assert.Equal(0, tally.Unanswered);
        Assert.Equal(5, receiver.Requests.Count);
        Assert.All(receiver.Requests, r =>
        {
            Assert.Equal("/checkout", r.Path);
            Assert.Equal("true", r.Headers["x-canary"]);
            Assert.Equal("shop", r.Headers[LoadTestSpec.DefaultMarkerHeader]);
        });
        // Time goes on after the run returned: nothing of it is left to send.
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(5, receiver.Requests.Count);
    }

    [Fact]
    public async Task Stopping_it_ends_requests_a_hung_target_never_answers()
    {
        using var receiver = new LoopbackReceiver("/") { Status = null };
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new HttpLoadGenerator(clock: clock).RunAsync(Run(receiver.Url), stop.Token));
        await WaitForAsync(() => receiver.Requests.Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await WaitForAsync(() => receiver.Requests.Count >= 3);
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
        await WaitForAsync(() => canary.Requests.Count >= 1 && control.Requests.Count >= 1);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await WaitForAsync(() => canary.Requests.Count >= 2 && control.Requests.Count >= 2);
        stop.Cancel();
        var tally = await run.WaitAsync(Generous);
        Assert.Equal(4, tally.Sent);
        Assert.All(control.Requests, r =>
        {
            Assert.False(r.Headers.ContainsKey("x-canary"));
            Assert.Equal("shop", r.Headers[LoadTestSpec.DefaultMarkerHeader]);
        });
    }
}
