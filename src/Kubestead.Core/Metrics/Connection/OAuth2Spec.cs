using Kubestead.Kubernetes;

namespace Kubestead.Metrics.Connection;

/// <summary>OAuth 2.0 client credentials (RFC 6749 section 4.4): a token from <see cref="TokenUrl"/>, sent as a bearer token.</summary>
public sealed record OAuth2Spec(string Field, Uri TokenUrl, SecretSource ClientId, SecretSource ClientSecret, string Scopes);
