using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Notifications;

/// <summary>
/// Reads a <see cref="SecretSource"/> of a notification sink or a webhook gate. Errors name the spec field and where the
/// value was looked for, never the value. Secrets go through the
/// host's <see cref="SecretCache"/>, shared with the metrics connections: a rollout's gate calls and sinks cost one GET
/// of a Secret per 30 s, not one per call.
/// </summary>
public sealed class SecretSourceReader(SecretCache secrets)
{
    /// <summary>Drops the Secrets kept; true when there were any (a refused call may then be made again with fresh values).</summary>
    public bool Forget() => secrets.Forget();

    public async Task<string> ReadAsync(SecretSource source, string ns, CancellationToken ct)
    {
        if (source.File is { } path)
        {
            try
            {
                return (await File.ReadAllTextAsync(path, ct).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NotificationConfigException($"{source.Field}: cannot read file {path}: {e.GetType().Name.Replace("Exception", "")}");
            }
        }
        var secret = source.Secret!;
        IReadOnlyDictionary<string, string?> data;
        try
        {
            data = await secrets.GetDataAsync(ns, secret.Name, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new NotificationConfigException($"{source.Field}: Secret {ns}/{secret.Name} does not exist");
        }
        catch (KubernetesApiException e)
        {
            throw new NotificationConfigException($"{source.Field}: cannot read Secret {ns}/{secret.Name} (HTTP {e.StatusCode})");
        }
        if (!data.TryGetValue(secret.Key, out var encoded) || encoded is null)
            throw new NotificationConfigException($"{source.Field}: Secret {ns}/{secret.Name} has no key '{secret.Key}'");
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Trim();
        }
        catch (FormatException)
        {
            throw new NotificationConfigException($"{source.Field}: Secret {ns}/{secret.Name} key '{secret.Key}' is not base64");
        }
    }
}

