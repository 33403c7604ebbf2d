namespace Kubestead.Notifications;

/// <summary>
/// One thing worth telling people about a rollout, independent of where it goes: the sinks render it (Teams card, Slack
/// blocks, the generic webhook's JSON). <see cref="Event"/> is the most specific kind; <see cref="Kinds"/> every kind a
/// subscription may match (a pause for too little data is both <c>insufficientData</c> and <c>paused</c>).
/// </summary>
public sealed record RolloutNotification(string Event, IReadOnlyList<string> Kinds, DateTimeOffset At, string Namespace, string Rollout, string Message)
{
    /// <summary>The rollout's phase after the event (Paused, Aborted, Failed, Completed), when the event changed it.</summary>
    public string? Phase { get; init; }

    /// <summary>Why it paused (Manual, InsufficientData, Drift, MetricErrors).</summary>
    public string? Reason { get; init; }

    /// <summary>1-based number of the step that began, with the step count and the step as the spec says it.</summary>
    public int? StepNumber { get; init; }
    public int? StepCount { get; init; }
    public string? Step { get; init; }

    /// <summary>The split after a weight change, in percent.</summary>
    public double? CanaryPercent { get; init; }
    public double? StablePercent { get; init; }

    /// <summary>Where the rollout's HTML report is written, when the host writes one.</summary>
    public string? ReportUrl { get; init; }

    /// <summary>A one-line title: what happened to which rollout.</summary>
    public string Title => Event switch
    {
        NotificationEvents.Started => $"Rollout {Namespace}/{Rollout} started",
        NotificationEvents.Step => $"Rollout {Namespace}/{Rollout}: step {StepNumber}/{StepCount}",
        NotificationEvents.WeightChanged => $"Rollout {Namespace}/{Rollout}: canary at {CanaryPercent:0.###}%",
        NotificationEvents.InsufficientData => $"Rollout {Namespace}/{Rollout} paused: too little traffic to judge",
        NotificationEvents.Drift => $"Rollout {Namespace}/{Rollout} paused: drift",
        NotificationEvents.Paused => $"Rollout {Namespace}/{Rollout} paused ({Reason})",
        NotificationEvents.Aborted => $"Rollout {Namespace}/{Rollout} {(Phase == "Failed" ? "failed and was rolled back" : "aborted")}",
        NotificationEvents.Promoted => $"Rollout {Namespace}/{Rollout} promoted",
        _ => $"Rollout {Namespace}/{Rollout}: {Event}",
    };

    /// <summary>The facts a card or message lists, in order, without empty ones.</summary>
    public IReadOnlyList<(string Name, string Value)> Facts()
    {
        var facts = new List<(string, string)> { ("Rollout", $"{Namespace}/{Rollout}"), ("Event", Event) };
        if (Phase is not null) facts.Add(("Phase", Phase));
        if (Reason is not null) facts.Add(("Reason", Reason));
        if (StepNumber is not null) facts.Add(("Step", $"{StepNumber}/{StepCount}: {Step}"));
        if (CanaryPercent is not null) facts.Add(("Traffic", $"stable {StablePercent:0.###}% / canary {CanaryPercent:0.###}%"));
        facts.Add(("At", At.ToString("u")));
        return facts;
    }
}
