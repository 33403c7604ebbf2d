using System.Text.Json.Nodes;

namespace Kubestead.Notifications;

/// <summary>The generic webhook's body; its schema is documented in docs/notifications.md (change both together).</summary>
public static class WebhookPayload
{
    public const string ApiVersion = "kubestead.io/v1alpha1";
    public const string Kind = "RolloutNotification";

    public static JsonObject Render(RolloutNotification n)
    {
        var kinds = new JsonArray();
        foreach (var k in n.Kinds) kinds.Add((JsonNode)k);
        var body = new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = Kind,
            ["event"] = n.Event,
            ["kinds"] = kinds,
            ["at"] = n.At.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
            ["rollout"] = new JsonObject { ["namespace"] = n.Namespace, ["name"] = n.Rollout },
            ["title"] = n.Title,
            ["message"] = n.Message,
            ["phase"] = n.Phase,
            ["reason"] = n.Reason,
            ["step"] = n.StepNumber is { } number ? new JsonObject { ["number"] = number, ["count"] = n.StepCount, ["description"] = n.Step } : null,
            ["traffic"] = n.CanaryPercent is { } canary ? new JsonObject { ["stablePercent"] = n.StablePercent, ["canaryPercent"] = canary } : null,
            ["reportUrl"] = n.ReportUrl,
        };
        return body;
    }
}
