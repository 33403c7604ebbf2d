using System.Text.Json.Nodes;

namespace Kubestead.Gates;

/// <summary>
/// The body of a gate call; its schema is documented in docs/gates.md (change both together). It holds nothing that
/// changes between two calls of the same gate at the same point (no timestamp: that is in the signature header), so a
/// call repeated by the next driver is byte-for-byte the first one, with the same <c>idempotencyKey</c>.
/// </summary>
public static class WebhookGatePayload
{
    public const string ApiVersion = "kubestead.io/v1alpha1";
    public const string Kind = "RolloutGate";

    /// <summary>The header that carries the idempotency key too, for receivers that dedupe on headers.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static JsonObject Render(WebhookGateSpec gate, WebhookGateContext context)
    {
        var metadata = new JsonObject();
        foreach (var (k, v) in gate.Metadata) metadata[k] = v;
        return new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = Kind,
            ["name"] = gate.Name,
            ["type"] = gate.Point,
            ["idempotencyKey"] = context.IdempotencyKey(gate),
            ["rollout"] = new JsonObject { ["namespace"] = context.Namespace, ["name"] = context.Rollout },
            ["phase"] = context.Phase,
            ["step"] = context.StepNumber is { } n ? new JsonObject { ["number"] = n, ["count"] = context.StepCount, ["description"] = context.Step } : null,
            ["traffic"] = new JsonObject { ["canaryPercent"] = context.CanaryPercent, ["nextCanaryPercent"] = context.NextCanaryPercent },
            ["metadata"] = metadata,
        };
    }
}
