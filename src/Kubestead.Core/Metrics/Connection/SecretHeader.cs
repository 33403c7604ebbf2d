using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>A request header whose value is a credential (Datadog's DD-API-KEY, New Relic's API-Key), read at each request.</summary>
public sealed record SecretHeader(string Name, SecretSource Value);
