using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>HTTP basic authentication: a user name (may be written in the spec) and a password (never in the spec).</summary>
public sealed record BasicAuthSpec(string Field, SecretSource Username, SecretSource Password);
