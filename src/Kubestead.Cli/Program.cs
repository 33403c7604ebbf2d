namespace Kubestead.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C cancels cleanly (state stays resumable); a second one kills the process.
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            cts.Cancel();
        };
        return await new CliApp(new CliContext()).RunAsync(args, cts.Token).ConfigureAwait(false);
    }
}
