using Kubestead.Metrics.Prometheus;
using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Rollouts.State;

/// <summary>
/// The spec copy in the state ConfigMap is read by everyone who may read ConfigMaps, so URL user info
/// (<c>https://user:password@prom/</c>) is masked before it is stored. A driver that later works from that copy (wait,
/// resume, the controller) cannot get the password back, and says so instead of querying with the mask as a password.
/// </summary>
public static class StoredSpecCredentials
{
    /// <summary>The spec text as it is stored: every URL's user info replaced by <see cref="UrlRedaction.Mask"/>.</summary>
    public static string Redact(string specYaml) => UrlRedaction.Redact(specYaml);

    /// <summary>
    /// Throws when the rollout still needs its metrics and a Prometheus address in the stored spec lost its user info.
    /// An ended rollout only has clean-up left, which reads no metrics, so it is never refused.
    /// </summary>
    public static void RequireDrivable(StoredRollout stored, RolloutSpec spec)
    {
        if (stored.Status.Phase.IsTerminal()) return;
        var metrics = spec.Analysis?.Metrics.ToList() ?? [];
        for (var i = 0; i < metrics.Count; i++)
            if (metrics[i].Provider is PrometheusProviderSpec { Address: { } address } && IsRedacted(address))
                throw new StoredCredentialsRedactedException(stored.Namespace, stored.Name,
                    $"spec.analysis.metrics[{i}].provider.{PrometheusSpecBlock.BlockKey}.address");
    }

    private static bool IsRedacted(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.UserInfo == UrlRedaction.Mask;
}
