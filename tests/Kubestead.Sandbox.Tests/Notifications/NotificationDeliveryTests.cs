using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Notifications;

/// <summary>
/// Issue #32 item 1: whole sandbox rollouts notify Teams, Slack and a signed webhook, all on 127.0.0.1 receivers, and a
/// receiver that fails or hangs changes nothing about the rollout but its history.
/// </summary>
public sealed class NotificationDeliveryTests : IDisposable
{
    private const string SecretPath = "/services/T0001/B0002/s3cr3tT0ken";
    private const string SigningKey = "hmac-key-for-tests";
    private const string ReportUrl = "https://ci.example.test/runs/7/report.html";
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-notify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string UrlFile(string name, Uri url)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, url + "\n");
        return path;
    }

    private static void SeedSecret(SandboxEnvironment env, Uri url) => env.Cluster.Seed(ResourceType.Secret, new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = "hooks", ["namespace"] = ShopFixture.Namespace },
        ["data"] = new JsonObject
        {
            ["webhook"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(url.ToString())),
            ["key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(SigningKey)),
        },
    });

    private static string WithNotifications(string spec, string block) => spec.TrimEnd() + "\n  notifications:\n" + block;

    private static KubesteadService Service(SandboxEnvironment env, IRolloutObserver observer, NotificationOptions? options = null) =>
        new(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Observer = observer,
            Driver = new DriverIdentity("demo", "sandbox", null, "demo"),
            PollInterval = TimeSpan.FromSeconds(30),
            Metrics = env.Traffic.Metrics,
            Notifications = options ?? new NotificationOptions { ReportUrl = ReportUrl, FirstRetryDelay = TimeSpan.FromMilliseconds(10) },
        });

    private static List<string> Events(LoopbackReceiver r) => r.Requests.Select(q => q.Json["event"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_promoted_rollout_notifies_each_sink_of_the_events_it_subscribed_to_in_its_documented_shape()
    {
        using var teams = new LoopbackReceiver("/workflows/abc/triggers/manual/paths/invoke");
        using var slack = new LoopbackReceiver(SecretPath);
        using var hook = new LoopbackReceiver();
        var env = SandboxEnvironment.Create("istio", "healthy");
        SeedSecret(env, hook.Url);
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: ops-teams
                  type: teams
                  url: {file: {{UrlFile("teams", teams.Url)}}}
                - name: ops-slack
                  type: slack
                  url: {file: {{UrlFile("slack", slack.Url)}}}
                  events: [started, promoted, aborted]
                - name: audit
                  type: webhook
                  url: {secretKeyRef: {name: hooks, key: webhook} }
                  signingKey: {secretKeyRef: {name: hooks, key: key} }
            """);
        var recorder = new RecordingObserver();
        await using var svc = Service(env, recorder);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.DoesNotContain(result.History, h => h.Kind == RolloutNotifier.FailedHistoryKind);

        // The generic webhook: every event, each signed over timestamp and body, in the documented schema.
        var events = Events(hook);
        Assert.Contains(NotificationEvents.Started, events);
        Assert.Equal(9, events.Count(e => e == NotificationEvents.Step));
        Assert.Contains(NotificationEvents.WeightChanged, events);
        Assert.Equal(NotificationEvents.Promoted, events[^1]);
        foreach (var request in hook.Requests)
        {
            Assert.True(WebhookSignature.Verify(Encoding.UTF8.GetBytes(SigningKey), request.Headers[WebhookSignature.TimestampHeader],
                request.Headers[WebhookSignature.SignatureHeader], request.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
            Assert.Equal("kubestead.io/v1alpha1", request.Json["apiVersion"]!.GetValue<string>());
            Assert.Equal("RolloutNotification", request.Json["kind"]!.GetValue<string>());
            Assert.Equal("shop", request.Json["rollout"]!["name"]!.GetValue<string>());
            Assert.Equal(ReportUrl, request.Json["reportUrl"]!.GetValue<string>());
        }
        var weight = hook.Requests.Select(r => r.Json).First(j => j["event"]!.GetValue<string>() == NotificationEvents.WeightChanged);
        Assert.Equal(5, weight["traffic"]!["canaryPercent"]!.GetValue<double>());
        Assert.Equal(95, weight["traffic"]!["stablePercent"]!.GetValue<double>());
        var step = hook.Requests.Select(r => r.Json).First(j => j["event"]!.GetValue<string>() == NotificationEvents.Step);
        Assert.Equal(1, step["step"]!["number"]!.GetValue<int>());
        Assert.Equal(9, step["step"]!["count"]!.GetValue<int>());
        var promoted = hook.Requests.Last().Json;
        Assert.Equal("Completed", promoted["phase"]!.GetValue<string>());

        // Teams: a message activity holding one Adaptive Card, with the report as its action.
        Assert.Equal(hook.Requests.Count, teams.Requests.Count);
        foreach (var request in teams.Requests)
        {
            Assert.Equal("/workflows/abc/triggers/manual/paths/invoke", request.Path);
            var body = request.Json;
            Assert.Equal("message", body["type"]!.GetValue<string>());
            var attachment = body["attachments"]!.AsArray().Single()!;
            Assert.Equal("application/vnd.microsoft.card.adaptive", attachment["contentType"]!.GetValue<string>());
            var card = attachment["content"]!;
            Assert.Equal("AdaptiveCard", card["type"]!.GetValue<string>());
            Assert.Equal("1.4", card["version"]!.GetValue<string>());
            Assert.Equal("TextBlock", card["body"]![0]!["type"]!.GetValue<string>());
            Assert.Contains(card["body"]!.AsArray(), b => b!["type"]!.GetValue<string>() == "FactSet" && b["facts"]!.AsArray().Count >= 3);
            var action = card["actions"]!.AsArray().Single()!;
            Assert.Equal("Action.OpenUrl", action["type"]!.GetValue<string>());
            Assert.Equal(ReportUrl, action["url"]!.GetValue<string>());
        }
        Assert.Contains(teams.Requests, r => r.Json["attachments"]![0]!["content"]!["body"]![0]!["text"]!.GetValue<string>() == "Rollout shop/shop promoted");

        // Slack: only what it subscribed to, as a fallback text plus blocks.
        var slackTitles = slack.Requests.Select(r => r.Json["blocks"]![0]!["text"]!["text"]!.GetValue<string>()).ToList();
        Assert.Equal(["Rollout shop/shop started", "Rollout shop/shop promoted"], slackTitles.Order().Reverse().ToList());
        foreach (var request in slack.Requests)
        {
            var blocks = request.Json["blocks"]!.AsArray();
            Assert.False(string.IsNullOrEmpty(request.Json["text"]!.GetValue<string>()));
            Assert.Equal("header", blocks[0]!["type"]!.GetValue<string>());
            Assert.Equal("plain_text", blocks[0]!["text"]!["type"]!.GetValue<string>());
            Assert.Equal("mrkdwn", blocks[1]!["text"]!["type"]!.GetValue<string>());
            Assert.Contains(blocks[2]!["fields"]!.AsArray(), f => f!["text"]!.GetValue<string>() == "*Rollout*\nshop/shop");
            Assert.Equal($"<{ReportUrl}|HTML report>", blocks[^1]!["elements"]![0]!["text"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("faulty", NotificationEvents.Aborted, "Aborted", null)]
    [InlineData("low-traffic", NotificationEvents.InsufficientData, "Paused", "InsufficientData")]
    public async Task A_rollout_that_does_not_promote_says_why(string scenario, string expected, string phase, string? reason)
    {
        using var hook = new LoopbackReceiver();
        var env = SandboxEnvironment.Create("istio", scenario);
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: audit
                  type: webhook
                  url: {file: {{UrlFile("hook", hook.Url)}}}
                  events: [aborted, insufficientData, promoted]
            """);
        await using var svc = Service(env, new RecordingObserver());

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(phase, result.Phase.ToString());
        var last = hook.Requests.Single().Json;
        Assert.Equal(expected, last["event"]!.GetValue<string>());
        Assert.Equal(phase, last["phase"]!.GetValue<string>());
        Assert.Equal(reason, last["reason"]?.GetValue<string>());
        Assert.Equal(result.Message, last["message"]!.GetValue<string>());
        Assert.False(last.ContainsKey("signature"));
        Assert.False(hook.Requests.Single().Headers.ContainsKey(WebhookSignature.SignatureHeader)); // no key, no signature
    }

    [Fact]
    public async Task The_specs_reportUrl_is_linked_when_the_host_writes_no_report_of_its_own_and_the_hosts_wins_when_it_does()
    {
        using var hook = new LoopbackReceiver();
        const string published = "https://wiki.example.test/rollouts/shop.html";
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: audit
                  type: webhook
                  url: {file: {{UrlFile("hook", hook.Url)}}}
                  events: [paused]
            """) + $"\n  reportUrl: {published}\n";

        var env = SandboxEnvironment.Create("istio", "healthy");
        await using (var svc = Service(env, new RecordingObserver(), new NotificationOptions()))
        {
            await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
            await svc.PauseAsync("shop", "shop");
        }
        var other = SandboxEnvironment.Create("istio", "healthy");
        await using (var svc = Service(other, new RecordingObserver()))
        {
            await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));
            await svc.PauseAsync("shop", "shop");
        }

        Assert.Equal([published, ReportUrl], hook.Requests.Select(r => r.Json["reportUrl"]!.GetValue<string>()).ToList());
    }

    [Fact]
    public async Task A_manual_pause_and_an_abort_from_the_command_line_notify_too()
    {
        using var hook = new LoopbackReceiver();
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: audit
                  type: webhook
                  url: {file: {{UrlFile("hook", hook.Url)}}}
                  events: [paused, aborted]
            """);
        await using var svc = Service(env, new RecordingObserver());
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: false));

        await svc.PauseAsync("shop", "shop");
        await svc.AbortAsync("shop", "shop");

        var bodies = hook.Requests.Select(r => r.Json).ToList();
        Assert.Equal([NotificationEvents.Paused, NotificationEvents.Aborted], bodies.Select(b => b["event"]!.GetValue<string>()).ToList());
        Assert.Equal("Manual", bodies[0]["reason"]!.GetValue<string>());
        Assert.Equal("Aborted", bodies[1]["phase"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failing_receiver_is_retried_then_recorded_in_the_history_without_its_url_and_the_rollout_completes()
    {
        using var broken = new LoopbackReceiver(SecretPath) { Status = HttpStatusCode.ServiceUnavailable };
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: ops-slack
                  type: slack
                  url: {file: {{UrlFile("slack", broken.Url)}}}
                  events: [started, promoted]
            """);
        var recorder = new RecordingObserver();
        await using var svc = Service(env, recorder);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.Equal(2 * 3, broken.Requests.Count); // two messages, three attempts each
        var failures = result.History.Where(h => h.Kind == RolloutNotifier.FailedHistoryKind).ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Contains($"sink ops-slack (slack, http://127.0.0.1:{broken.Url.Port}/…) not delivered after 3 attempts: HTTP 503", f.Message));
        var everything = string.Join("\n", result.History.Select(h => h.Message).Concat(recorder.Events.Select(e => e.Message)));
        Assert.DoesNotContain("s3cr3tT0ken", everything);
        Assert.Contains(recorder.Events, e => e is WarningEvent w && w.Text.Contains("not delivered"));
    }

    [Fact]
    public async Task A_receiver_that_never_answers_does_not_hold_the_rollout()
    {
        using var hung = new LoopbackReceiver { Status = null };
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: audit
                  type: webhook
                  url: {file: {{UrlFile("hook", hung.Url)}}}
                  events: [step]
            """);
        await using var svc = Service(env, new RecordingObserver(), new NotificationOptions
        {
            // A request would wait a minute; the drive waits one second for it at its end, then records it as not sent.
            Attempts = 1, RequestTimeout = TimeSpan.FromMinutes(1), FlushTimeout = TimeSpan.FromSeconds(1),
        });

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        var failures = result.History.Where(h => h.Kind == RolloutNotifier.FailedHistoryKind).Select(h => h.Message).ToList();
        Assert.DoesNotContain(failures, f => f.Contains("no answer within"));
        Assert.Single(failures, f => f.Contains("not delivered: the drive ended while it was being sent"));
        Assert.Single(failures, f => f == "8 notifications not sent: the drive ended before they could be");
    }

    [Fact]
    public async Task A_sink_whose_secret_is_missing_is_skipped_and_recorded_and_the_others_still_send()
    {
        using var hook = new LoopbackReceiver();
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = WithNotifications(SandboxDemoTests.SpecFor("istio"), $$"""
                - name: gone
                  type: teams
                  url: {secretKeyRef: {name: no-such-secret, key: url} }
                - name: audit
                  type: webhook
                  url: {file: {{UrlFile("hook", hook.Url)}}}
                  events: [promoted]
            """);
        await using var svc = Service(env, new RecordingObserver());

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.Equal(NotificationEvents.Promoted, Events(hook).Single());
        Assert.Contains(result.History, h => h.Kind == RolloutNotifier.FailedHistoryKind
                                             && h.Message == "notification sink gone (teams) not used: spec.notifications[0].url: Secret shop/no-such-secret does not exist");
    }
}
