using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Analysis;

/// <summary>What a readiness observation changed in the warm-up, for the history and the events; null text: nothing to tell.</summary>
public sealed record WarmupObservation(RolloutStatus Status, string? Message, bool Warning, bool MustWrite);

/// <summary>
/// Where a warm-up starts (issue #12): not at the weight write alone but at the later of the write in effect and the
/// moment the engine sees every canary pod of the planned count ready, because cold pods are what a warm-up is for. A
/// warm-up that is due while pods are not ready waits for them (every window until then is warm-up), for at most the
/// ready timeout. Pods that drop and come back during a rollout with a warm-up (replaced pods) restart it from their
/// return, at most <see cref="MaxRestarts"/> times: the windows while they are missing are judged, and a canary that
/// keeps crashing must not keep its traffic away from the judges.
/// </summary>
public static class WarmupClock
{
    /// <summary>Warm-ups restarted for returning pods per rollout; past this a crash-looping canary is judged like any other.</summary>
    public const int MaxRestarts = 3;

    /// <summary>A warm-up is due at <paramref name="inEffect"/>: it starts now if the pods are ready, else when they are.</summary>
    public static RolloutStatus Begin(RolloutStatus status, TimeSpan warmup, DateTimeOffset inEffect, CanaryReadiness readiness) =>
        readiness.AllReady
            ? status with { WarmupFrom = inEffect, WarmupUntil = Later(status.WarmupUntil, inEffect + warmup), WarmupAwaitingReady = false, CanaryUnreadySince = null }
            : status with
            {
                WarmupFrom = null,
                WarmupUntil = Later(status.WarmupUntil, inEffect + warmup),
                WarmupAwaitingReady = true,
                CanaryUnreadySince = status.CanaryUnreadySince ?? inEffect,
            };

    /// <summary>
    /// The engine looked at the canary's pods at <paramref name="now"/> (each pass of the driver loop while the canary has
    /// traffic and the rollout has a warm-up): start a pending warm-up, extend it while pods are missing, note a drop,
    /// restart the warm-up when dropped pods return.
    /// </summary>
    public static WarmupObservation Observe(RolloutStatus status, TimeSpan warmup, TimeSpan readyTimeout, DateTimeOffset now, CanaryReadiness readiness)
    {
        if (status.WarmupAwaitingReady)
        {
            if (readiness.AllReady)
                return new(Started(status, warmup, now), $"canary pods ready ({readiness}): warm-up runs from {now:u} until {now + warmup:u}", false, true);
            var waitingSince = status.CanaryUnreadySince ?? now;
            if (now - waitingSince >= readyTimeout)
                return new(Started(status, warmup, now),
                    $"{readiness} {Durations.Format(now - waitingSince)} after the warm-up was due (ready timeout {Durations.Format(readyTimeout)}): " +
                    $"warm-up runs from {now:u} without them and its windows are judged after {now + warmup:u}", true, true);
            // Every window up to now is warm-up: the warm-up ends no earlier than a full warm-up after the pods are ready.
            return new(status with { WarmupUntil = Later(status.WarmupUntil, now + warmup), CanaryUnreadySince = waitingSince }, null, false, false);
        }
        if (!readiness.AllReady)
        {
            if (status.CanaryUnreadySince is not null) return new(status, null, false, false);
            return new(status with { CanaryUnreadySince = now },
                $"{readiness}: windows are still judged; the warm-up restarts when the pods are back", true, true);
        }
        if (status.CanaryUnreadySince is not { } since) return new(status, null, false, false);
        if (status.WarmupRestarts >= MaxRestarts)
            return new(status with { CanaryUnreadySince = null },
                $"canary pods ready again after {Durations.Format(now - since)}; the warm-up is not restarted (already restarted {status.WarmupRestarts} times: pods that keep dropping are judged)",
                true, true);
        return new(Started(status, warmup, now) with { WarmupRestarts = status.WarmupRestarts + 1 },
            $"canary pods ready again after {Durations.Format(now - since)} (replaced pods are cold): warm-up restarts from {now:u} until {now + warmup:u}", false, true);
    }

    private static RolloutStatus Started(RolloutStatus status, TimeSpan warmup, DateTimeOffset now) => status with
    {
        WarmupFrom = now,
        WarmupUntil = Later(status.WarmupUntil, now + warmup),
        WarmupAwaitingReady = false,
        CanaryUnreadySince = null,
    };

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;
}
