using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;

namespace Kubestead.Metrics.Aws;

/// <summary>
/// Requests signed with AWS Signature Version 4 for <see cref="Service"/> in <see cref="Region"/>. The key pair is
/// <see cref="AccessKeyId"/> and <see cref="SecretAccessKey"/> (files or Secret keys) when the spec names them, else
/// read at run time from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else from the shared
/// credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or default).
/// </summary>
/// <param name="Field">The spec field every failure names (<c>...sigv4</c>).</param>
public sealed record SigV4Spec(string Field, string Region, string Service, SecretSource? AccessKeyId = null, SecretSource? SecretAccessKey = null,
    SecretSource? SessionToken = null)
{
    /// <summary>The sources the spec names (none when the environment or the shared file supplies the key pair).</summary>
    public IEnumerable<SecretSource> Sources => new[] { AccessKeyId, SecretAccessKey, SessionToken }.OfType<SecretSource>();
}
