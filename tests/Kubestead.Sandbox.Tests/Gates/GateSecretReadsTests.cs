using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Gates;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Gates;

/// <summary>
/// Issue #31: webhook gates and notification sinks read their URLs and keys through the host's Secret cache, the one the
/// metrics connections use: a rollout costs one GET of a Secret per 30 s of its run, not two per gate call and sink.
/// </summary>
public sealed class GateSecretReadsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string SigningKey = "gate-secret-hmac";

    private static string Spec(string webhooks, string notifications) =>
        WebhookGateTests.Spec(webhooks).TrimEnd() + "\n  notifications:\n" + notifications;

    private static string Gate(string type) =>
        $"    - {{name: {type.ToLowerInvariant()}-check, type: {type}, url: {{secretKeyRef: {{name: hooks, key: gate-url}}}}, signingKey: {{secretKeyRef: {{name: hooks, key: key}}}}, timeout: 5s}}";

    [Fact]
    public async Task A_rollout_with_gates_and_a_notification_reads_their_Secret_once_per_30_seconds()
    {
        using var gates = new LoopbackReceiver("/gate");
        using var sink = new LoopbackReceiver("/notify");
        var env = SandboxEnvironment.Create("none", "healthy");
        env.Cluster.Seed(ResourceType.Secret, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "hooks", ["namespace"] = "shop" },
            ["data"] = new JsonObject
            {
                ["gate-url"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(gates.Url.ToString())),
                ["notify-url"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(sink.Url.ToString())),
                ["key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(SigningKey)),
            },
        });
        var spec = Spec(
            string.Join("\n", new[] { WebhookGatePoints.PreRollout, WebhookGatePoints.ConfirmTrafficIncrease, WebhookGatePoints.ConfirmPromotion, WebhookGatePoints.PostRollout }.Select(Gate)),
            "    - {name: audit, type: webhook, url: {secretKeyRef: {name: hooks, key: notify-url}}, signingKey: {secretKeyRef: {name: hooks, key: key}}}");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var started = env.Clock.GetUtcNow();

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        var elapsed = env.Clock.GetUtcNow() - started;
        var secretGets = env.Cluster.Log.Count(l => l == "GET secrets/hooks");
        // Every gate call and the sink were made, each with a URL and a key from the Secret: 2 reads apiece uncached.
        Assert.True(gates.Requests.Count >= 5, $"{gates.Requests.Count} gate calls");
        Assert.NotEmpty(sink.Requests);
        output.WriteLine($"{secretGets} GETs of Secret hooks over {elapsed}, {gates.Requests.Count} gate calls");
        var uncached = 2 * (gates.Requests.Count + 1);
        var allowed = 1 + (int)(elapsed / SecretCache.Ttl);
        Assert.True(secretGets <= allowed && secretGets < uncached,
            $"{secretGets} GETs of Secret hooks over {elapsed} ({gates.Requests.Count} gate calls, one sink); at most {allowed} allowed");
    }
}
