using Microsoft.Extensions.Hosting;

namespace Kubestead.Sandbox.Server;

/// <summary>
/// A host lifetime that leaves the process's signals alone. The default (ConsoleLifetime) takes SIGINT, SIGTERM and
/// SIGQUIT for itself and only stops the web host, so `kubestead sandbox` (and a PowerShell session hosting the
/// sandbox) never saw SIGTERM and kept running with nothing served; the owner of the server stops it instead.
/// </summary>
internal sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
