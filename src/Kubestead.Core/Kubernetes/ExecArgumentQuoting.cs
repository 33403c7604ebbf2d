using System.Text;
using k8s.KubeConfigModels;

namespace Kubestead.Kubernetes;

/// <summary>
/// KubernetesClient starts an exec credential plugin with its <c>args</c> joined by spaces into one command line, which
/// .NET splits again by the Windows rules (on every OS), so an argument holding a space, a quote or a trailing backslash
/// reaches the plugin broken ("team a" as two words). client-go passes each item as one argv entry. Quoting each item by
/// those same rules before the library joins them makes the round trip exact.
/// </summary>
internal static class ExecArgumentQuoting
{
    public static void QuoteForLibrary(ExternalExecution exec)
    {
        if (exec.Arguments is { Count: > 0 } args) exec.Arguments = args.Select(Quote).ToList();
    }

    public static string Quote(string arg)
    {
        if (arg.Length > 0 && !arg.Any(c => char.IsWhiteSpace(c) || c == '"')) return arg;
        var sb = new StringBuilder("\"");
        var backslashes = 0;
        foreach (var c in arg)
        {
            if (c == '\\') { backslashes++; continue; }
            // Backslashes count only before a quote: double them there, and escape the quote itself.
            sb.Append('\\', c == '"' ? backslashes * 2 + 1 : backslashes);
            backslashes = 0;
            sb.Append(c);
        }
        return sb.Append('\\', backslashes * 2).Append('"').ToString();
    }
}
