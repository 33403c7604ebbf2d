using Kubestead.Rollouts;

namespace Kubestead.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Environment.Exit runs no finally blocks: it is only taken after a second signal or the grace period, when
        // every step the engine took is already recorded in the cluster.
        using var signals = new TerminationSignals(Console.Error, code => Environment.Exit(code));
        signals.Register();
        var context = new CliContext { Signals = signals, ConnectApiOnly = ConnectApiServerOnly };
        return await new CliApp(context).RunAsync(args, signals.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// A command whose only TLS peer is the API server: when the kubeconfig names that server's CA, the machine's CA store
    /// is never consulted, so this process does not load it (most of a `status`'s CPU). It changes the whole process,
    /// which is why it is done here and not in <see cref="CliApp"/>, which tests run in-process.
    /// </summary>
    private static Task<IKubesteadService> ConnectApiServerOnly(ConnectionOptions options, Rollouts.Engine.IRolloutObserver observer, CancellationToken ct)
    {
        var connection = KubesteadConnector.Resolve(options);
        if (!MachineTrustStore.IsNeededFor(connection)) MachineTrustStore.IgnoreForThisProcess();
        return KubesteadConnector.ConnectAsync(connection, options, observer, null, ct);
    }
}
