using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Notifications;

/// <summary>
/// Which engine events people are told about, and as what. Progress, verdicts of single windows and verbose lines are
/// not: a channel that hears of every window stops being read.
/// </summary>
public static class NotificationMapper
{
    public static RolloutNotification? From(RolloutEvent e, string? reportUrl) => (e switch
    {
        RolloutStartedEvent s => new RolloutNotification(NotificationEvents.Started, [NotificationEvents.Started], s.At, s.Namespace, s.Rollout, s.Message),
        StepStartedEvent s => new RolloutNotification(NotificationEvents.Step, [NotificationEvents.Step], s.At, s.Namespace, s.Rollout, s.Message)
        {
            StepNumber = s.StepIndex + 1, StepCount = s.StepCount, Step = s.Step,
        },
        WeightAppliedEvent w => new RolloutNotification(NotificationEvents.WeightChanged, [NotificationEvents.WeightChanged], w.At, w.Namespace, w.Rollout, w.Message)
        {
            CanaryPercent = w.CanaryPercent, StablePercent = w.StablePercent,
        },
        PhaseChangedEvent p => FromPhase(p),
        _ => null,
    }) is { } n ? n with { ReportUrl = reportUrl } : null;

    private static RolloutNotification? FromPhase(PhaseChangedEvent p)
    {
        string[]? kinds = p.Phase switch
        {
            RolloutPhase.Paused => p.Reason switch
            {
                PauseReason.InsufficientData => [NotificationEvents.InsufficientData, NotificationEvents.Paused],
                PauseReason.Drift => [NotificationEvents.Drift, NotificationEvents.Paused],
                _ => [NotificationEvents.Paused],
            },
            RolloutPhase.Aborted or RolloutPhase.Failed => [NotificationEvents.Aborted],
            RolloutPhase.Completed => [NotificationEvents.Promoted],
            _ => null, // Progressing (resumed) and Promoting are followed by their own step, weight and promoted events
        };
        return kinds is null ? null : new RolloutNotification(kinds[0], kinds, p.At, p.Namespace, p.Rollout, p.Detail)
        {
            Phase = p.Phase.ToString(),
            Reason = p.Reason?.ToString(),
        };
    }
}
