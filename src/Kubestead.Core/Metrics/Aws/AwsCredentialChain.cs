using Kubestead.Metrics.Connection;

namespace Kubestead.Metrics.Aws;

/// <summary>
/// Finds the key pair a <see cref="SigV4Spec"/> signs with, at each request (a rotated Secret or file is used at once):
/// the spec's files or Secret keys; else the standard environment variables; else the shared credentials file's
/// profile. A failure names the spec field and where it looked, never a value.
/// </summary>
/// <param name="environment">Where AWS_* variables are read (the process environment outside tests).</param>
internal sealed class AwsCredentialChain(SigV4Spec spec, SecretValueReader secrets, Func<string, string?> environment)
{
    public async Task<AwsCredentials> ReadAsync(CancellationToken ct)
    {
        if (spec.AccessKeyId is { } id && spec.SecretAccessKey is { } secret)
        {
            var token = spec.SessionToken is { } t ? await secrets.ReadAsync(t, ct).ConfigureAwait(false) : null;
            return new AwsCredentials(await secrets.ReadAsync(id, ct).ConfigureAwait(false), await secrets.ReadAsync(secret, ct).ConfigureAwait(false),
                token, $"{spec.Field}.accessKeyId");
        }
        if (environment("AWS_ACCESS_KEY_ID") is { Length: > 0 } envId)
        {
            if (environment("AWS_SECRET_ACCESS_KEY") is not { Length: > 0 } envSecret)
                throw new MetricsUnavailableException($"{spec.Field}: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
            return new AwsCredentials(envId, envSecret, environment("AWS_SESSION_TOKEN") is { Length: > 0 } envToken ? envToken : null, "AWS_ACCESS_KEY_ID");
        }
        var file = environment("AWS_SHARED_CREDENTIALS_FILE") is { Length: > 0 } f ? f
            : environment("HOME") is { Length: > 0 } home ? Path.Combine(home, ".aws", "credentials") : null;
        var profile = environment("AWS_PROFILE") is { Length: > 0 } p ? p : "default";
        if (file is null || !File.Exists(file))
            throw new MetricsUnavailableException(
                $"{spec.Field}: no AWS credentials: give accessKeyId and secretAccessKey ({{file: ...}} or {{secret: {{name, key}}}}), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a shared credentials file ({file ?? "~/.aws/credentials"} does not exist)");
        string[] lines;
        try
        {
            lines = await File.ReadAllLinesAsync(file, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MetricsUnavailableException($"{spec.Field}: cannot read the shared credentials file {file}: {e.GetType().Name}");
        }
        var values = Profile(lines, profile);
        if (values is null)
            throw new MetricsUnavailableException($"{spec.Field}: the shared credentials file {file} has no profile [{profile}]");
        if (!values.TryGetValue("aws_access_key_id", out var fileId) || !values.TryGetValue("aws_secret_access_key", out var fileSecret))
            throw new MetricsUnavailableException($"{spec.Field}: profile [{profile}] of {file} lacks aws_access_key_id or aws_secret_access_key");
        return new AwsCredentials(fileId, fileSecret, values.GetValueOrDefault("aws_session_token"), $"profile [{profile}] of {file}");
    }

    /// <summary>The <c>key = value</c> lines of one <c>[profile]</c> section of an INI file; null when it has none.</summary>
    private static Dictionary<string, string>? Profile(IEnumerable<string> lines, string profile)
    {
        Dictionary<string, string>? found = null;
        var inside = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[' && line[^1] == ']')
            {
                inside = line[1..^1].Trim() == profile;
                if (inside) found ??= new(StringComparer.OrdinalIgnoreCase);
                continue;
            }
            var eq = line.IndexOf('=');
            if (inside && eq > 0) found![line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return found;
    }
}
