namespace Kubestead.Notifications;

/// <summary>The events a sink may subscribe to (<c>spec.notifications[].events</c>); the generic webhook's <c>event</c> field.</summary>
public static class NotificationEvents
{
    public const string Started = "started";
    public const string Step = "step";
    public const string WeightChanged = "weightChanged";
    /// <summary>Every pause, whatever its reason (the payload carries the reason).</summary>
    public const string Paused = "paused";
    /// <summary>A pause (or failure) because the canary saw too little traffic to judge.</summary>
    public const string InsufficientData = "insufficientData";
    /// <summary>A pause because someone else changed what Kubestead wrote (a route, stable's template).</summary>
    public const string Drift = "drift";
    /// <summary>Aborted by a person, or failed by the analysis (the payload's phase says which).</summary>
    public const string Aborted = "aborted";
    public const string Promoted = "promoted";

    public static readonly string[] All = [Started, Step, WeightChanged, Paused, InsufficientData, Drift, Aborted, Promoted];
}
