namespace Kubestead.Notifications;

/// <summary>
/// How a sink's address is shown: scheme, host and port only. A Slack or Teams webhook URL carries its credential in the
/// path or query, so an error, warning or history entry must never hold more than this.
/// </summary>
public static class NotificationUrl
{
    public static string Redact(Uri url) => url.IsDefaultPort ? $"{url.Scheme}://{url.Host}/…" : $"{url.Scheme}://{url.Host}:{url.Port}/…";

    /// <summary>Removes the full address (and its unescaped form) from a message some library wrote about it.</summary>
    public static string Scrub(string text, Uri url) =>
        text.Replace(url.OriginalString, Redact(url)).Replace(url.AbsoluteUri, Redact(url)).Replace(url.ToString(), Redact(url));
}
