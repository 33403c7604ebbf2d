using System.Text;
using Kubestead.Kubernetes;

namespace Kubestead.Notifications;

/// <summary>Reads a <see cref="SecretSource"/>. Errors name where the value was looked for, never the value.</summary>
public sealed class SecretSourceReader(IKubernetesApi api)
{
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
        System.Text.Json.Nodes.JsonObject secret;
        try
        {
            secret = await api.GetAsync(ResourceType.Secret, ns, source.SecretName!, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            throw new NotificationConfigException($"Secret {ns}/{source.SecretName} does not exist");
        }
        catch (KubernetesApiException e)
        {
            throw new NotificationConfigException($"cannot read Secret {ns}/{source.SecretName} (HTTP {e.StatusCode})");
        }
        if (secret["data"]?[source.SecretKey!]?.GetValue<string>() is not { } encoded)
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

