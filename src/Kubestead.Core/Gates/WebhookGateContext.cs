using System.Globalization;

namespace Kubestead.Gates;

/// <summary>
/// Where in a rollout a gate is called. <see cref="RunId"/> tells two runs of one rollout apart (start time in Unix
/// milliseconds); <see cref="StepNumber"/> tells the weight increases of one run apart.
/// </summary>
public sealed record WebhookGateContext(string Namespace, string Rollout, long RunId, string Phase, double CanaryPercent)
{
    public int? StepNumber { get; init; }
    public int? StepCount { get; init; }
    public string? Step { get; init; }

    /// <summary>The weight the gated write would set (confirmTrafficIncrease, preRollout).</summary>
    public double? NextCanaryPercent { get; init; }

    /// <summary>
    /// The documented idempotency key: <c>namespace/rollout/runId/type/gate</c>, plus <c>/step-N</c> for a gate called
    /// once per step. Every call of one gate at one point of one run has the same key, whichever driver makes it, so a
    /// receiver that acts once per key acts once however often a killed driver's successor repeats the call.
    /// </summary>
    public string IdempotencyKey(WebhookGateSpec gate) =>
        $"{Namespace}/{Rollout}/{RunId.ToString(CultureInfo.InvariantCulture)}/{gate.Point}/{gate.Name}" +
        (gate.Point == WebhookGatePoints.ConfirmTrafficIncrease && StepNumber is { } n ? $"/step-{n.ToString(CultureInfo.InvariantCulture)}" : "");
}
