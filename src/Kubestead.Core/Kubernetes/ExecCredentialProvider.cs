using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Kubernetes;

/// <summary>What an exec plugin returned. ToString never shows the token or key.</summary>
public sealed record ExecCredential(string? Token, string? ClientCertificatePem, string? ClientKeyPem, DateTimeOffset? ExpiresAt)
{
    public override string ToString() => $"ExecCredential({(Token is null ? "" : "token, ")}{(ClientCertificatePem is null ? "" : "client certificate, ")}expires {ExpiresAt?.ToString("u", CultureInfo.InvariantCulture) ?? "never"})";
}

/// <summary>
/// Runs a client.authentication.k8s.io exec plugin (aws eks get-token, gke-gcloud-auth-plugin, kubelogin, ...), caches its
/// credential until <c>expirationTimestamp</c>, and runs it again when the server rejects the credential (401).
/// Its output is never logged or put in an error message.
/// </summary>
public sealed class ExecCredentialProvider(ExecCredentialConfig config, TimeProvider clock)
{
    private static readonly TimeSpan ExpirySkew = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ExecCredential? _cached;

    public int Invocations { get; private set; }

    public async Task<ExecCredential> GetAsync(bool forceRefresh, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!forceRefresh && _cached is { } c && (c.ExpiresAt is null || c.ExpiresAt - ExpirySkew > clock.GetUtcNow())) return c;
            _cached = await RunAsync(ct).ConfigureAwait(false);
            return _cached;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ExecCredential> RunAsync(CancellationToken ct)
    {
        Invocations++;
        var command = config.Command.Contains('/') && !Path.IsPathRooted(config.Command) && config.BaseDirectory is not null
            ? Path.GetFullPath(Path.Combine(config.BaseDirectory, config.Command))
            : config.Command;
        var psi = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in config.Args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in config.Env) psi.Environment[k] = v;
        psi.Environment["KUBERNETES_EXEC_INFO"] = new JsonObject
        {
            ["apiVersion"] = config.ApiVersion,
            ["kind"] = "ExecCredential",
            ["spec"] = new JsonObject { ["interactive"] = false },
        }.ToJsonString();
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception();
        }
        catch (Win32Exception)
        {
            throw new KubeConfigException($"exec credential plugin '{config.Command}' could not be started"
                                          + (config.InstallHint is { } hint ? $": {hint.Trim()}" : "; is it installed and on PATH?"));
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdoutTask = process.StandardOutput.ReadToEndAsync(ct);
            var stderrTask = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            var stdout = await stdoutTask.ConfigureAwait(false);
            await stderrTask.ConfigureAwait(false); // read to avoid a full pipe; never shown (it may echo secrets)
            if (process.ExitCode != 0)
                throw new KubeConfigException($"exec credential plugin '{config.Command}' exited with code {process.ExitCode}");
            JsonObject? status;
            try
            {
                status = JsonNode.Parse(stdout)?["status"] as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                throw new KubeConfigException($"exec credential plugin '{config.Command}' did not print an ExecCredential JSON document");
            }
            if (status is null) throw new KubeConfigException($"exec credential plugin '{config.Command}' printed an ExecCredential without status");
            DateTimeOffset? expires = status["expirationTimestamp"]?.GetValue<string>() is { } ts
                && DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var e) ? e : null;
            var credential = new ExecCredential(status["token"]?.GetValue<string>(), status["clientCertificateData"]?.GetValue<string>(),
                status["clientKeyData"]?.GetValue<string>(), expires);
            if (credential.Token is null && credential.ClientCertificatePem is null)
                throw new KubeConfigException($"exec credential plugin '{config.Command}' returned neither a token nor a client certificate");
            return credential;
        }
    }
}
