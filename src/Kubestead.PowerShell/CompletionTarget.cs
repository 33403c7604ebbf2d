using System.Collections;
using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// The cluster a Tab completion asks: the -KubeConfig, -Context and -Namespace already typed on the command line
/// (PowerShell passes them as fakeBoundParameters), so completion offers the names of the cluster the command will run
/// against, not those of $env:KUBECONFIG's current context.
/// </summary>
internal sealed record CompletionTarget(string? KubeConfig, string? Context, string? Namespace)
{
    public static CompletionTarget From(IDictionary? fakeBoundParameters) => new(
        Path(Text(fakeBoundParameters, nameof(KubesteadCmdlet.KubeConfig))),
        Text(fakeBoundParameters, nameof(KubesteadCmdlet.Context)),
        Text(fakeBoundParameters, nameof(KubesteadCmdlet.Namespace)));

    /// <summary>The kubeconfig files to read: the typed -KubeConfig, else $KUBECONFIG's list, else ~/.kube/config.</summary>
    public IEnumerable<string> KubeConfigFiles() =>
        (KubeConfig ?? Environment.GetEnvironmentVariable("KUBECONFIG") ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config"))
        .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists);

    // Only a literal value counts: a typed $variable or (expression) is not evaluated by the completion engine.
    private static string? Text(IDictionary? bound, string name) =>
        bound is not null && bound.Contains(name) && bound[name] is string { Length: > 0 } s ? s : null;

    /// <summary>
    /// A relative -KubeConfig is relative to PowerShell's location, as the cmdlet will resolve it, not to the process's
    /// directory: asked of the session the completion runs in (a nested pipeline on its own thread).
    /// </summary>
    private static string? Path(string? typed)
    {
        if (typed is null || System.IO.Path.IsPathRooted(typed)) return typed;
        try
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("param($p) $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($p)").AddArgument(typed);
            return ps.Invoke().FirstOrDefault()?.BaseObject as string ?? System.IO.Path.GetFullPath(typed);
        }
        catch (Exception e) when (e is PSInvalidOperationException or RuntimeException or InvalidOperationException)
        {
            return System.IO.Path.GetFullPath(typed);
        }
    }
}
