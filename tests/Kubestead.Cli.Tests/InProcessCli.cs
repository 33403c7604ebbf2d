using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>The CLI run in-process against an emulated cluster, as a non-interactive step with no CI variables.</summary>
internal static class InProcessCli
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(SandboxEnvironment env, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var ctx = new CliContext
        {
            Out = output,
            Error = error,
            Environment = _ => null,
            IsTerminal = false,
            Connect = (_, observer, _) => Task.FromResult<IKubesteadService>(env.CreateService(observer, "cli-test")),
        };
        var code = await Task.Run(() => new CliApp(ctx).RunAsync(args));
        return (code, output.ToString(), error.ToString());
    }
}
