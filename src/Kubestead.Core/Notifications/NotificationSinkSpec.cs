using Kubestead.Kubernetes;

namespace Kubestead.Notifications;

/// <summary>
/// One entry of <c>spec.notifications</c>: where messages go (<see cref="Type"/>: <c>teams</c>, <c>slack</c> or
/// <c>webhook</c>), which events it wants, and where its address and signing key are kept. The address itself is never in
/// the spec: a webhook URL is a credential (anyone holding a Slack or Teams URL can post to the channel), and the spec is
/// stored in a ConfigMap that many can read.
/// </summary>
/// <param name="Name">Names the sink in history entries and warnings (never its URL).</param>
/// <param name="Events">The <see cref="NotificationEvents"/> this sink receives.</param>
/// <param name="SigningKey">The generic webhook's HMAC-SHA256 key; null for Teams and Slack, optional for webhook.</param>
public sealed record NotificationSinkSpec(string Name, string Type, SecretSource Url, SecretSource? SigningKey, IReadOnlyList<string> Events);

/// <summary>The sink kinds <c>spec.notifications[].type</c> accepts.</summary>
public static class NotificationSinkTypes
{
    public const string Teams = "teams";
    public const string Slack = "slack";
    public const string Webhook = "webhook";
    public static readonly string[] All = [Teams, Slack, Webhook];
}
