namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// One active scrape target as <c>/api/v1/targets</c> reports it: its labels after relabelling, the labels service
/// discovery found before it, and how often it is scraped (null: the field was missing or not a duration).
/// </summary>
public sealed record PrometheusScrapeTarget(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> DiscoveredLabels,
    TimeSpan? ScrapeInterval)
{
    /// <summary>The target's namespace: the usual relabelled <c>namespace</c> label, else what Kubernetes discovery found.</summary>
    public string? Namespace => Labels.GetValueOrDefault("namespace") ?? DiscoveredLabels.GetValueOrDefault("__meta_kubernetes_namespace");

    /// <summary>The target's pod, from the same two places.</summary>
    public string? Pod => Labels.GetValueOrDefault("pod") ?? DiscoveredLabels.GetValueOrDefault("__meta_kubernetes_pod_name");
}
