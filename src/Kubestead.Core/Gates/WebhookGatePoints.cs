namespace Kubestead.Gates;

/// <summary>
/// Where a webhook gate is called (<c>spec.webhooks[].type</c>), after Flagger's hook types of the same meaning
/// (pre-rollout, confirm-traffic-increase, confirm-promotion, post-rollout).
/// </summary>
public static class WebhookGatePoints
{
    /// <summary>Once, before the canary first gets traffic (its first weight or header route).</summary>
    public const string PreRollout = "preRollout";

    /// <summary>Before every write that raises the canary's weight, the first one included.</summary>
    public const string ConfirmTrafficIncrease = "confirmTrafficIncrease";

    /// <summary>Before the promotion begins (every step done and the analysis passed).</summary>
    public const string ConfirmPromotion = "confirmPromotion";

    /// <summary>
    /// After the promotion or the rollback has moved the traffic and removed the canary, before the rollout is recorded
    /// finished. It cannot undo anything, so a failure is recorded and warned about, and never changes the outcome.
    /// </summary>
    public const string PostRollout = "postRollout";

    public static readonly string[] All = [PreRollout, ConfirmTrafficIncrease, ConfirmPromotion, PostRollout];
}
