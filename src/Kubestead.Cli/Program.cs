namespace Kubestead.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Environment.Exit runs no finally blocks: it is only taken after a second signal or the grace period, when
        // every step the engine took is already recorded in the cluster.
        using var signals = new TerminationSignals(Console.Error, code => Environment.Exit(code));
        signals.Register();
        return await new CliApp(new CliContext { Signals = signals }).RunAsync(args, signals.Token).ConfigureAwait(false);
    }
}
