using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Core.Tests.Notifications;

public class NotificationMapperTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch;

    [Theory]
    [InlineData(RolloutPhase.Paused, PauseReason.Drift, new[] { "drift", "paused" })]
    [InlineData(RolloutPhase.Paused, PauseReason.InsufficientData, new[] { "insufficientData", "paused" })]
    [InlineData(RolloutPhase.Paused, PauseReason.MetricErrors, new[] { "paused" })]
    [InlineData(RolloutPhase.Failed, null, new[] { "aborted" })]
    [InlineData(RolloutPhase.Completed, null, new[] { "promoted" })]
    public void Phase_changes_map_to_their_most_specific_event_first(RolloutPhase phase, PauseReason? reason, string[] kinds)
    {
        var n = NotificationMapper.From(new PhaseChangedEvent(At, "ns", "r", phase, reason, "why"), null)!;

        Assert.Equal(kinds, n.Kinds);
        Assert.Equal(kinds[0], n.Event);
        Assert.Equal(phase.ToString(), n.Phase);
        Assert.Equal(reason?.ToString(), n.Reason);
    }

    [Fact]
    public void Progress_and_resumes_are_not_notified()
    {
        Assert.Null(NotificationMapper.From(new WaitingEvent(At, "ns", "r", "analysis", TimeSpan.Zero, null), null));
        Assert.Null(NotificationMapper.From(new PhaseChangedEvent(At, "ns", "r", RolloutPhase.Progressing, null, "resumed"), null));
        Assert.Null(NotificationMapper.From(new VerboseEvent(At, "ns", "r", "x"), null));
    }

    [Fact]
    public void A_sink_gets_a_drift_pause_when_it_subscribed_to_paused_or_to_drift_but_not_otherwise()
    {
        var n = NotificationMapper.From(new PhaseChangedEvent(At, "ns", "r", RolloutPhase.Paused, PauseReason.Drift, "changed"), null)!;
        ResolvedSink Sink(params string[] events) => new(new NotificationSinkSpec("s", "webhook", new SecretSource("spec.notifications[0].url", File: "/f"), null, events), new Uri("http://127.0.0.1/"), null);

        Assert.True(Sink(NotificationEvents.Paused).Wants(n));
        Assert.True(Sink(NotificationEvents.Drift).Wants(n));
        Assert.False(Sink(NotificationEvents.InsufficientData, NotificationEvents.Aborted).Wants(n));
    }
}
