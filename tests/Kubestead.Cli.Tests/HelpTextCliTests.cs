namespace Kubestead.Cli.Tests;

/// <summary>Issue 26 item 11: the help says everything the CLI does (every exit code, every mesh `start --image` takes).</summary>
public class HelpTextCliTests
{
    private static async Task<string> HelpAsync(params string[] args)
    {
        var output = new StringWriter();
        var ctx = new CliContext { Out = output, Error = new StringWriter(), Environment = _ => null, IsTerminal = false };
        Assert.Equal(0, await new CliApp(ctx).RunAsync([.. args, "--help"]));
        return output.ToString();
    }

    [Fact]
    public async Task The_root_help_lists_every_exit_code_the_cli_returns()
    {
        var help = await HelpAsync();
        foreach (var code in new[] { ExitCodes.Success, ExitCodes.Error, ExitCodes.InvalidInput, ExitCodes.RolledBack, ExitCodes.Paused,
                     ExitCodes.TimedOut, ExitCodes.AnotherVersionRunning, ExitCodes.Cancelled })
            Assert.Matches($@"[ :,]{code} [a-z]", help);
    }

    [Fact]
    public async Task Start_help_lists_every_mesh_the_spec_accepts()
    {
        var help = await HelpAsync("start");
        foreach (var mesh in new[] { "istio", "linkerd", "smi", "none", "nginx", "linkerd1" })
            Assert.Matches($@"\b{mesh}\b", help);
    }
}
