using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.Notifications;

/// <summary>
/// A host's notification sender (one per <see cref="RolloutDriver"/>): opens a <see cref="RolloutNotifier"/> for a
/// rollout's spec, reading each sink's URL and key from its file or Secret at that moment (a rotated Secret applies from
/// the next drive). A sink that cannot be set up is skipped and recorded; the others still send.
/// </summary>
/// <param name="secrets">The host's Secret cache, shared with its webhook gates (one GET per Secret per 30 s).</param>
public sealed class RolloutNotifications(SecretCache secrets, NotificationOptions options, TimeProvider clock, DriverIdentity driver)
{
    private readonly HttpClient _http = new(options.Handler ?? new SocketsHttpHandler(), disposeHandler: options.Handler is null)
    {
        Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own (NotificationOptions.RequestTimeout)
    };

    private readonly SecretSourceReader _secrets = new(secrets);

    public NotificationOptions Options => options;

    public async Task<RolloutNotifier> OpenAsync(RolloutSpec spec, IRolloutObserver inner, CancellationToken ct)
    {
        var sinks = new List<ResolvedSink>();
        var failures = new List<string>();
        foreach (var sink in spec.Notifications)
        {
            try
            {
                sinks.Add(await ResolveAsync(sink, spec.Namespace, ct).ConfigureAwait(false));
            }
            catch (NotificationConfigException e)
            {
                var text = $"notification sink {sink.Name} ({sink.Type}) not used: {e.Message}";
                failures.Add(text);
                inner.OnEvent(new WarningEvent(clock.GetUtcNow(), spec.Namespace, spec.Name, text));
            }
        }
        return new RolloutNotifier(inner, sinks, failures, sinks.Count == 0 ? null : new NotificationDelivery(_http, options),
            // The host knows where it writes the report this time; the spec says where reports are published otherwise.
            options with { ReportUrl = options.ReportUrl ?? spec.ReportUrl }, clock, driver.ToString(), spec.Namespace, spec.Name);
    }

    private async Task<ResolvedSink> ResolveAsync(NotificationSinkSpec sink, string ns, CancellationToken ct)
    {
        var text = await _secrets.ReadAsync(sink.Url, ns, ct).ConfigureAwait(false);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new NotificationConfigException($"{sink.Url.Field}: the URL in {sink.Url.Describe()} is not an absolute http(s) URL");
        byte[]? key = null;
        if (sink.SigningKey is { } keySource)
        {
            var value = await _secrets.ReadAsync(keySource, ns, ct).ConfigureAwait(false);
            if (value.Length == 0) throw new NotificationConfigException($"{keySource.Field}: the signing key in {keySource.Describe()} is empty");
            key = System.Text.Encoding.UTF8.GetBytes(value);
        }
        return new ResolvedSink(sink, url, key);
    }
}
