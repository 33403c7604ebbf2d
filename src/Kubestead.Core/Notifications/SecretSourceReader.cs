using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Notifications;

/// <summary>
/// Reads a <see cref="SecretSource"/>. Errors name where the value was looked for, never the value. Secrets go through the
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
                throw new NotificationConfigException($"cannot read file {path}: {e.GetType().Name.Replace("Exception", "")}");
            }
        }
        IReadOnlyDictionary<string, string?> data;
        try
        {
            data = await secrets.GetDataAsync(ns, source.SecretName!, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new NotificationConfigException($"Secret {ns}/{source.SecretName} does not exist");
        }
        catch (KubernetesApiException e)
        {
            throw new NotificationConfigException($"cannot read Secret {ns}/{source.SecretName} (HTTP {e.StatusCode})");
        }
        if (!data.TryGetValue(source.SecretKey!, out var encoded) || encoded is null)
            throw new NotificationConfigException($"Secret {ns}/{source.SecretName} has no key '{source.SecretKey}'");
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Trim();
        }
        catch (FormatException)
        {
            throw new NotificationConfigException($"Secret {ns}/{source.SecretName} key '{source.SecretKey}' is not base64");
        }
    }
}

