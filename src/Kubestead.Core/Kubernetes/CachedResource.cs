namespace Kubestead.Kubernetes;

/// <summary>A kind of object a <see cref="WatchCachedApi"/> serves reads of from a watch: every object of the type in a
/// namespace, or only those matching <paramref name="LabelSelector"/>.</summary>
public sealed record CachedResource(ResourceType Type, string? LabelSelector = null);
