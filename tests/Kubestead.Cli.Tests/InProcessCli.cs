using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>The CLI run in-process against an emulated cluster, as a non-interactive step with no CI variables.</summary>
internal static class InProcessCli
{
    public static Task<(int Code, string Out, string Err)> RunAsync(SandboxEnvironment env, params string[] args) => RunAsync(env, null, args);

    /// <summary>
    /// Runs the CLI with environment variables <paramref name="vars"/> (null: none); without <paramref name="env"/> a
    /// command that connects to a cluster fails the test (the demo and offline commands need none).
    /// </summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(SandboxEnvironment? env, Dictionary<string, string?>? vars, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var ctx = new CliContext
        {
            Out = output,
            Error = error,
            Environment = k => vars?.GetValueOrDefault(k),
            IsTerminal = false,
            Connect = (_, observer, _) => Task.FromResult<IKubesteadService>(
                (env ?? throw new InvalidOperationException("this test gives no cluster")).CreateService(observer, "cli-test")),
        };
        var code = await Task.Run(() => new CliApp(ctx).RunAsync(args));
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>
    /// The CLI on the emulated cluster with the real metric sources (the sandbox's service reads its simulator, which
    /// would bypass the spec's provider and its credentials).
    /// </summary>
    public static async Task<(int Code, string Out, string Err)> RunWithRealMetricsAsync(SandboxEnvironment env, Dictionary<string, string?> vars,
        params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var ctx = new CliContext
        {
            Out = output, Error = error, Environment = k => vars.GetValueOrDefault(k), IsTerminal = false,
            Connect = (_, observer, _) => Task.FromResult<IKubesteadService>(new KubesteadService(env.Cluster,
                new KubesteadServiceOptions
                {
                    Clock = env.Clock, Observer = observer, PollInterval = TimeSpan.FromSeconds(30),
                    Driver = new Kubestead.Rollouts.State.DriverIdentity("cli-test", "sandbox", null, "cli-test"),
                })),
        };
        var code = await Task.Run(() => new CliApp(ctx).RunAsync(args));
        return (code, output.ToString(), error.ToString());
    }
}
