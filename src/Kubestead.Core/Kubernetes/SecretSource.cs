namespace Kubestead.Kubernetes;

/// <summary>
/// Where one credential value comes from: a file (a mounted Secret, a projected token), a key of a Kubernetes Secret in
/// the rollout's namespace, or, for values that are not secret (a user name, a client id), the spec itself. The metrics
/// connections, notification sinks and webhook gates all name their credentials this way (their readers differ in the
/// errors they throw); each reads the value when it uses it, so a rotated credential is picked up without a restart.
/// </summary>
/// <param name="Field">The spec field that names it (errors name this, never the value).</param>
public sealed record SecretSource(string Field, string? Literal = null, string? File = null, SecretKeyRef? Secret = null)
{
    /// <summary>Where the value is read from, for messages (a path or a Secret's name and key; never the value).</summary>
    public string Describe() =>
        File is not null ? $"file {File}" : Secret is not null ? $"key '{Secret.Key}' of Secret {Secret.Name}" : "the spec";
}

/// <summary>One key of a Kubernetes Secret in the rollout's namespace.</summary>
public sealed record SecretKeyRef(string Name, string Key);
