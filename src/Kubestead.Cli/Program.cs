using System.CommandLine;

namespace Kubestead.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("kubestead: canary releases on Kubernetes through Istio, Linkerd, SMI or replica ratios.");
        return root.Parse(args).Invoke();
    }
}
