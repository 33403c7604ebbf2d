namespace Kubestead.Metrics.Aws;

/// <summary>
/// An AWS access key pair, with the session token of temporary credentials. Its text form names only where it came
/// from: a record's generated ToString would print the secret into any log or error that formats it.
/// </summary>
/// <param name="Origin">Where the values were read, for messages (e.g. "AWS_ACCESS_KEY_ID"); never a value.</param>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken, string Origin)
{
    public override string ToString() => $"AWS credentials from {Origin}";
}
