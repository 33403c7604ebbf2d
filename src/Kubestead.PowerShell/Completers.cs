using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Kubestead.PowerShell;

/// <summary>Completes kubeconfig context names from the typed -KubeConfig, else $KUBECONFIG or ~/.kube/config (no cluster call).</summary>
public sealed class ContextCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompleterSupport.Results(CompleterSupport.Contexts(CompletionTarget.From(fakeBoundParameters)), wordToComplete);
}

/// <summary>Completes namespaces named in the kubeconfig's contexts (no cluster call, so completion never hangs).</summary>
public sealed class NamespaceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompleterSupport.Results(CompleterSupport.Namespaces(CompletionTarget.From(fakeBoundParameters)), wordToComplete);
}

internal static class CompleterSupport
{
    public static IEnumerable<CompletionResult> Results(IEnumerable<string> names, string wordToComplete) =>
        names.Where(n => n.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase)).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));

    public static IEnumerable<string> Contexts(CompletionTarget target) => Lines(target).Where(l => l.Key == "name" && l.InContexts).Select(l => l.Value).Distinct();

    public static IEnumerable<string> Namespaces(CompletionTarget target) => Lines(target).Where(l => l.Key == "namespace").Select(l => l.Value).Append("default").Distinct();

    // A light scan of the kubeconfig YAML: completion must not load Core (and its private load context) just to suggest names.
    private static IEnumerable<(string Key, string Value, bool InContexts)> Lines(CompletionTarget target)
    {
        foreach (var file in target.KubeConfigFiles())
        {
            var inContexts = false;
            foreach (var raw in File.ReadLines(file))
            {
                if (!raw.StartsWith(' ') && !raw.StartsWith('-')) inContexts = raw.StartsWith("contexts:", StringComparison.Ordinal);
                var line = raw.Trim().TrimStart('-').Trim();
                var colon = line.IndexOf(':');
                if (colon <= 0) continue;
                var value = line[(colon + 1)..].Trim().Trim('"', '\'');
                if (value.Length > 0) yield return (line[..colon], value, inContexts);
            }
        }
    }
}
