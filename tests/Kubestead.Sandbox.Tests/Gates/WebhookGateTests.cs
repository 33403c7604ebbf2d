using System.Net;
using System.Text;
using Kubestead.Gates;
using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Gates;

/// <summary>
/// Issue #32: webhook gates at Flagger's points, each proven to block (the gated write does not happen) and to pass, with
/// a receiver on 127.0.0.1; a call interrupted in flight is repeated by the next driver with the same idempotency key.
/// </summary>
public sealed class WebhookGateTests : IDisposable
{
    private const string Token = "gate-t0ken-9f8e";
    private const string SigningKey = "gate-hmac-key";
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-gates-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string Spec(string webhooks) => NoneMeshSpec.With(["setWeight: 20", "setWeight: 40"], "  webhooks:\n" + webhooks);

    private string Hook(string type, LoopbackReceiver receiver, string extra = "")
    {
        var url = Path.Combine(_dir, type + "-url");
        File.WriteAllText(url, receiver.Url + "\n");
        var key = Path.Combine(_dir, type + "-key");
        File.WriteAllText(key, SigningKey);
        return $"    - {{name: check, type: {type}, url: {{file: {url}}}, signingKey: {{file: {key}}}, timeout: 2s{extra}}}";
    }

    private static LoopbackReceiver Receiver(HttpStatusCode? status) => new($"/hooks/{Token}") { Status = status };

    private static string DeploymentImage(SandboxEnvironment env, string name) =>
        env.Cluster.Peek(ResourceType.Deployment, "shop", name)!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    [Theory]
    [InlineData(WebhookGatePoints.PreRollout, 0, 1)]
    [InlineData(WebhookGatePoints.ConfirmTrafficIncrease, 0, 2)]
    [InlineData(WebhookGatePoints.ConfirmPromotion, 40, 1)]
    public async Task A_failing_gate_blocks_its_write_and_pauses_and_after_resume_a_2xx_lets_the_rollout_finish(string point, double weightAtGate, int passingCalls)
    {
        using var receiver = Receiver(HttpStatusCode.ServiceUnavailable);
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var blocked = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(Hook(point, receiver)) }, wait: true));

        Assert.Equal(RolloutPhase.Paused, blocked.Phase);
        Assert.Equal(PauseReason.Webhook, blocked.PauseReason);
        Assert.Equal(weightAtGate, blocked.CanaryWeight);
        Assert.Equal("registry.example.com/shop:1.9.0", DeploymentImage(env, "shop")); // not promoted
        var where = $"http://127.0.0.1:{receiver.Url.Port}/…";
        Assert.Equal($"webhook check ({point}) failed: HTTP 503 Service Unavailable from {where}; resume calls it again", blocked.Message);
        Assert.DoesNotContain(blocked.History, h => h.Message.Contains(Token));
        var first = Assert.Single(receiver.Requests);
        Assert.Equal("/hooks/" + Token, first.Path);
        Assert.True(WebhookSignature.Verify(Encoding.UTF8.GetBytes(SigningKey), first.Headers[WebhookSignature.TimestampHeader],
            first.Headers[WebhookSignature.SignatureHeader], first.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        Assert.Equal("RolloutGate", first.Json["kind"]!.GetValue<string>());
        Assert.Equal(point, first.Json["type"]!.GetValue<string>());
        Assert.Equal(first.Json["idempotencyKey"]!.GetValue<string>(), first.Headers[WebhookGatePayload.IdempotencyKeyHeader]);

        receiver.Status = HttpStatusCode.OK;
        var resumed = await Task.Run(() => svc.ResumeAsync("shop", "shop", wait: true));

        Assert.True(resumed.Phase == RolloutPhase.Completed, $"{resumed.Phase}: {resumed.Message}");
        Assert.Equal("registry.example.com/shop:2.0.0", DeploymentImage(env, "shop"));
        Assert.Equal(1 + passingCalls, receiver.Requests.Count);
        Assert.Equal(passingCalls, resumed.History.Count(h => h.Kind == "webhook" && h.Message == $"webhook check ({point}) passed: HTTP 200 OK from {where}"));
        // The repeated call after resume is the same call: same key, same body.
        Assert.Equal(first.Body, receiver.Requests.ElementAt(1).Body);
    }

    [Fact]
    public async Task A_gate_with_onFailure_abort_that_gets_no_answer_rolls_the_rollout_back()
    {
        using var receiver = Receiver(null); // never answers
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(Hook(WebhookGatePoints.ConfirmTrafficIncrease, receiver, ", onFailure: abort")) }, wait: true));

        Assert.Equal(RolloutPhase.Failed, result.Phase);
        Assert.Equal(0, result.CanaryWeight);
        Assert.Equal($"webhook check (confirmTrafficIncrease) failed: no answer within 2s from http://127.0.0.1:{receiver.Url.Port}/…; the rollout was rolled back", result.Message);
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, "shop", "shop-canary"));
    }

    [Fact]
    public async Task An_unreachable_gate_and_an_unreadable_url_file_fail_closed_naming_where_without_the_url()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var missing = Path.Combine(_dir, "no-such-file");
        var result = await Task.Run(() => svc.StartAsync(new StartRequest
        {
            SpecYaml = Spec($"    - {{name: check, type: preRollout, url: {{file: {missing}}}}}"),
        }, wait: true));

        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Webhook, result.PauseReason);
        Assert.StartsWith($"webhook check (preRollout) failed: spec.webhooks[0].url: cannot read file {missing}", result.Message);
        Assert.Equal(0, result.CanaryWeight);
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, "passed: HTTP 200 OK")]
    [InlineData(HttpStatusCode.InternalServerError, "failed: HTTP 500 Internal Server Error")]
    public async Task A_postRollout_gate_is_called_after_the_promotion_and_its_failure_is_recorded_without_changing_the_outcome(HttpStatusCode status, string outcome)
    {
        using var receiver = Receiver(status);
        var env = SandboxEnvironment.Create("none", "healthy");
        var recorder = new RecordingObserver();
        await using var svc = env.CreateService(recorder);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec(Hook(WebhookGatePoints.PostRollout, receiver)) }, wait: true));

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        var call = Assert.Single(receiver.Requests);
        Assert.Equal("Completed", call.Json["phase"]!.GetValue<string>());
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, "shop", "shop-canary")); // called after the canary was removed
        Assert.Contains(result.History, h => h.Kind == "webhook" && h.Message.StartsWith($"webhook check (postRollout) {outcome}"));
        if (status != HttpStatusCode.OK)
            Assert.Contains(recorder.Events.OfType<WarningEvent>(), w => w.Text.StartsWith("webhook check (postRollout) failed"));
    }

    [Fact]
    public async Task A_postRollout_gate_is_called_after_an_abort_with_the_outcome_in_its_payload()
    {
        using var receiver = Receiver(HttpStatusCode.OK);
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var spec = Spec(Hook(WebhookGatePoints.PostRollout, receiver)).Replace("    - setWeight: 40\n", "    - pause: {}\n    - setWeight: 40\n");
        Assert.Equal(RolloutPhase.Paused, (await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true))).Phase);
        Assert.Empty(receiver.Requests);

        var aborted = await Task.Run(() => svc.AbortAsync("shop", "shop", waitForCleanup: true));

        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.Equal("Aborted", Assert.Single(receiver.Requests).Json["phase"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_driver_stopped_while_a_gate_call_is_in_flight_leaves_it_unpassed_and_the_next_driver_repeats_it_with_the_same_key()
    {
        using var receiver = Receiver(null); // the first call hangs until its driver is stopped
        var env = SandboxEnvironment.Create("none", "healthy");
        var spec = Spec(Hook(WebhookGatePoints.ConfirmTrafficIncrease, receiver).Replace("timeout: 2s", "timeout: 5m"));
        using var kill = new CancellationTokenSource();
        await using (var first = env.CreateService(NullRolloutObserver.Instance, driver: "first"))
        {
            var drive = Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = spec }, wait: true, kill.Token));
            var deadline = DateTime.UtcNow.AddMinutes(2); // a wait on a condition, generous for a loaded machine
            while (receiver.Requests.IsEmpty && !drive.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Single(receiver.Requests);
            await kill.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drive);
        }
        var stopped = await env.CreateService(NullRolloutObserver.Instance).GetAsync("shop", "shop");
        Assert.Equal(RolloutPhase.Progressing, stopped.Phase);
        Assert.Equal(0, stopped.CanaryWeight);
        Assert.DoesNotContain(stopped.History, h => h.Kind == "webhook");

        receiver.Status = HttpStatusCode.OK;
        await using var next = env.CreateService(NullRolloutObserver.Instance, driver: "next");
        var result = await Task.Run(() => next.WaitAsync("shop", "shop", null));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        var calls = receiver.Requests.ToList();
        Assert.Equal(3, calls.Count); // the interrupted call, its repetition, and the second step's own call
        var key = calls[0].Headers[WebhookGatePayload.IdempotencyKeyHeader];
        Assert.Equal(key, calls[1].Headers[WebhookGatePayload.IdempotencyKeyHeader]);
        Assert.Equal(calls[0].Body, calls[1].Body);
        Assert.EndsWith("/confirmTrafficIncrease/check/step-1", key);
        Assert.EndsWith("/confirmTrafficIncrease/check/step-2", calls[2].Headers[WebhookGatePayload.IdempotencyKeyHeader]);
        Assert.Equal(2, result.History.Count(h => h.Kind == "webhook"));
    }
}
