using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>
/// Completes rollout names from the cluster of the -KubeConfig/-Context/-Namespace already typed. A Tab must never hang
/// on a slow or dead server: the whole lookup (connect, list) has <see cref="Budget"/>, after which nothing is offered;
/// any failure offers nothing rather than an error; and each session keeps what it got, names or nothing, for
/// <see cref="CacheLife"/>, so Tab pressed again and again asks the cluster once.
/// </summary>
public sealed class RolloutNameCompleter : IArgumentCompleter
{
    /// <summary>The most one completion waits for the cluster (kubectl's completion has no bound; a Tab should feel instant).</summary>
    public static TimeSpan Budget { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a session reuses a lookup's answer for the same kubeconfig, context and namespace.</summary>
    public static TimeSpan CacheLife { get; } = TimeSpan.FromSeconds(5);

    // Completers are created by PowerShell per Tab and get no session state, so the session's cache hangs off its
    // runspace (and goes with it).
    private static readonly ConditionalWeakTable<Runspace, CompletionCache> Caches = new();

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var target = CompletionTarget.From(fakeBoundParameters);
        var cache = Runspace.DefaultRunspace is { } runspace ? Caches.GetValue(runspace, _ => new CompletionCache(TimeProvider.System, CacheLife)) : null;
        var names = cache?.TryGet(target) ?? Lookup(target);
        cache?.Put(target, names);
        return CompleterSupport.Results(names, wordToComplete);
    }

    private static IReadOnlyList<string> Lookup(CompletionTarget target)
    {
        using var budget = new CancellationTokenSource(Budget);
        var lookup = Task.Run(() => ListAsync(target, budget.Token));
        try
        {
            // Waited for with the budget as well: a credential plugin or DNS lookup that ignores the token still cannot hold the Tab.
            if (lookup.Wait(Budget)) return lookup.Result;
            budget.Cancel(); // the lookup left behind ends at its next await instead of running on
            return [];
        }
        catch (AggregateException)
        {
            return [];
        }
    }

    private static async Task<IReadOnlyList<string>> ListAsync(CompletionTarget target, CancellationToken ct)
    {
        try
        {
            var service = await KubesteadConnector.ConnectAsync(new ConnectionOptions(target.KubeConfig, target.Context, target.Namespace,
                RequestTimeout: Budget, OutageBudget: TimeSpan.Zero), null, null, ct).ConfigureAwait(false);
            await using (service.ConfigureAwait(false))
                return (await service.ListAsync(target.Namespace, ct).ConfigureAwait(false)).Select(r => r.Name).ToList();
        }
        catch (Exception)
        {
            // Whatever went wrong (no kubeconfig, unreachable, forbidden, cancelled), completion offers nothing: an
            // error here would be printed in the middle of the line being typed.
            return [];
        }
    }
}
