using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli;

/// <summary>Everything the CLI touches outside itself, so tests can run it in-process.</summary>
public sealed record CliContext
{
    public TextWriter Out { get; init; } = Console.Out;
    public TextWriter Error { get; init; } = Console.Error;
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
    public bool IsTerminal { get; init; } = !Console.IsOutputRedirected;

    /// <summary>The process's signal handling (null in-process, where the caller's token is the only cancellation).</summary>
    public TerminationSignals? Signals { get; init; }

    /// <summary>Connects to a cluster; the default reads kubeconfig or in-cluster config.</summary>
    public Func<ConnectionOptions, IRolloutObserver, CancellationToken, Task<IKubesteadService>> Connect { get; init; } =
        (options, observer, ct) => KubesteadConnector.ConnectAsync(options, observer, null, ct);

    /// <summary>
    /// Connects for a command whose only peer is the API server (status). Null: <see cref="Connect"/>. The process host
    /// (Program) sets it to skip the machine's CA store when the kubeconfig names the cluster's CA (docs/native.md).
    /// </summary>
    public Func<ConnectionOptions, IRolloutObserver, CancellationToken, Task<IKubesteadService>>? ConnectApiOnly { get; init; }

    public Func<IKubesteadOffline> Offline { get; init; } = KubesteadConnector.Offline;

    /// <summary>Runs the sandbox demo (overridable so tests can check the CLI's handling of its result).</summary>
    public Func<string, string, IRolloutObserver, int, CancellationToken, Task<DemoResult>> Demo { get; init; } =
        (mesh, scenario, observer, seed, ct) => SandboxDemo.RunAsync(mesh, scenario, DemoSpecs.For(mesh), observer, seed, ct);

    /// <summary>`demo --spec`: the demo with a rollout spec of the user's instead of examples/sandbox/&lt;mesh&gt;.yaml.</summary>
    public Func<string, string, string, IRolloutObserver, int, CancellationToken, Task<DemoResult>> DemoWithSpec { get; init; } =
        (mesh, scenario, spec, observer, seed, ct) => SandboxDemo.RunAsync(mesh, scenario, spec, observer, seed, ct);

    /// <summary>Runs the sandbox demo with a created baseline (<c>kubestead demo --baseline</c>).</summary>
    public Func<string, string, IRolloutObserver, int, CancellationToken, Task<DemoResult>> DemoWithBaseline { get; init; } =
        (mesh, scenario, observer, seed, ct) => SandboxDemo.RunWithBaselineAsync(mesh, scenario, observer, seed, ct);

    public bool IsGitHubActions => string.Equals(Environment("GITHUB_ACTIONS"), "true", StringComparison.OrdinalIgnoreCase);
    public bool IsAzureDevOps => !string.IsNullOrEmpty(Environment("TF_BUILD"));
    public bool IsCi => IsGitHubActions || IsAzureDevOps || !string.IsNullOrEmpty(Environment("CI"));
}
