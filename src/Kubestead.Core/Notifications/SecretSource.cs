namespace Kubestead.Notifications;

/// <summary>
/// Where a secret value (a webhook URL, a signing key) is read from: a file (<c>file: /path</c>) or a key of a Secret in
/// the rollout's namespace (<c>secretKeyRef: {name, key}</c>). Exactly one is set. The value is read by whichever process
/// drives the rollout, each time it drives; a controller needs the Secret form (it has no access to a CI runner's files).
/// </summary>
public sealed record SecretSource(string? File, string? SecretName, string? SecretKey)
{
    /// <summary>Where the value comes from, for messages: never the value.</summary>
    public string Describe() => File is not null ? $"file {File}" : $"Secret {SecretName} key {SecretKey}";
}
