namespace Kubestead.Notifications;

/// <summary>
/// How a host sends notifications. Retries wait on <see cref="RetryClock"/>, not on the rollout's clock: they are about a
/// real network, and a virtual rollout clock (the sandbox's, tests') must see only the engine's own timers.
/// </summary>
public sealed record NotificationOptions
{
    /// <summary>Replaces the network (tests); null: a handler of this host's own.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public TimeProvider RetryClock { get; init; } = TimeProvider.System;

    /// <summary>Tries per message, the first included.</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>
    /// The longest wait before the first retry; each later one may wait twice as long, up to a minute. Each wait is jittered
    /// between half and all of it (<see cref="Kubestead.Kubernetes.RetrySchedule"/>), so sinks that failed together are not
    /// retried together; a sink's Retry-After (up to a minute) is taken as given.
    /// </summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The jitter's random source in [0, 1) (tests pin it); null: shared randomness.</summary>
    public Func<double>? Jitter { get; init; }

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the end of a drive waits for messages still being sent before it records them as not sent.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where this host writes the rollout's HTML report (a file or a CI artifact URL); messages link it.</summary>
    public string? ReportUrl { get; init; }
}
