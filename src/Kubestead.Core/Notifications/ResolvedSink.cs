namespace Kubestead.Notifications;

/// <summary>
/// A sink with its URL and key read. A class, not a record: a record's generated ToString would print the URL and key
/// into any log line that formats it.
/// </summary>
public sealed class ResolvedSink(NotificationSinkSpec spec, Uri url, byte[]? signingKey)
{
    public NotificationSinkSpec Spec { get; } = spec;
    public Uri Url { get; } = url;
    public byte[]? SigningKey { get; } = signingKey;

    public bool Wants(RolloutNotification n) => n.Kinds.Any(Spec.Events.Contains);

    /// <summary>How messages name this sink: its name, kind and redacted address.</summary>
    public override string ToString() => $"sink {Spec.Name} ({Spec.Type}, {NotificationUrl.Redact(Url)})";
}
