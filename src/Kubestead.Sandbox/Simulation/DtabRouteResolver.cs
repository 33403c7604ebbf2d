using Kubestead.Traffic.Dtabs;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// Where namerd would send a name, as shares per Kubernetes Service: delegation through the dtab (the last matching
/// dentry first, falling back to earlier ones when a tree does not bind), unions split by relative weight over the
/// branches that bind, alternations take the first branch that binds, and a name <c>/#/io.l5d.k8s/&lt;ns&gt;/&lt;port&gt;/&lt;svc&gt;</c>
/// binds when that Service exists. Good enough for the simulator; not a Finagle interpreter (no other namers, no
/// transformers, no residual-path rewriting beyond the prefix).
/// </summary>
public static class DtabRouteResolver
{
    private const int MaxDepth = 20;

    /// <summary>Service name to share (summing to 1), or null when the name does not bind.</summary>
    public static IReadOnlyDictionary<string, double>? Resolve(DtabDocument dtab, string name, string ns, Func<string, bool> serviceExists) =>
        Delegate(dtab, name, ns, serviceExists, 0);

    private static Dictionary<string, double>? Delegate(DtabDocument dtab, string path, string ns, Func<string, bool> serviceExists, int depth)
    {
        if (depth > MaxDepth) return null;
        var labels = Labels(path);
        if (labels.Length >= 5 && labels[0] == "#" && labels[1] == "io.l5d.k8s")
            return labels[2] == ns && serviceExists(labels[4]) ? new Dictionary<string, double> { [labels[4]] = 1 } : null;
        for (var i = dtab.Entries.Count - 1; i >= 0; i--)
        {
            var d = dtab.Entries[i].Dentry;
            var prefix = Labels(d.Prefix);
            if (prefix.Length > labels.Length || prefix.Where((p, k) => p != "*" && p != labels[k]).Any()) continue;
            var residual = string.Concat(labels.Skip(prefix.Length).Select(l => "/" + l));
            if (Evaluate(dtab, d.Destination, residual, ns, serviceExists, depth + 1) is { } bound) return bound;
        }
        return null;
    }

    private static Dictionary<string, double>? Evaluate(DtabDocument dtab, NameTree tree, string residual, string ns, Func<string, bool> serviceExists, int depth)
    {
        switch (tree)
        {
            case NameTree.Leaf l:
                return Delegate(dtab, (l.Path == "/" ? "" : l.Path) + residual, ns, serviceExists, depth);
            case NameTree.Alt a:
                foreach (var t in a.Trees)
                    if (Evaluate(dtab, t, residual, ns, serviceExists, depth) is { } bound) return bound;
                return null;
            case NameTree.Union u:
            {
                var parts = u.Trees.Select(w => (w.Weight, Bound: Evaluate(dtab, w.Tree, residual, ns, serviceExists, depth))).Where(p => p.Bound is not null).ToList();
                if (parts.Count == 0) return null;
                var total = parts.Sum(p => p.Weight);
                var result = new Dictionary<string, double>();
                foreach (var (w, bound) in parts)
                    foreach (var (svc, share) in bound!)
                        result[svc] = result.GetValueOrDefault(svc) + (total <= 0 ? 1.0 / parts.Count : w / total) * share;
                return result;
            }
            default:
                return null;
        }
    }

    private static string[] Labels(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
