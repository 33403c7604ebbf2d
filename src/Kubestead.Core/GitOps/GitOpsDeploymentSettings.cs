using Kubestead.Specs;

namespace Kubestead.GitOps;

/// <summary>
/// GitOps settings for the stable Deployment. After a full promotion stable runs the canary's template; Argo CD
/// self-heal or Flux would put Git's template back (the old image). Either the image lives in Git and the pipeline
/// writes it there, or the GitOps tool must ignore the template fields Kubestead writes: these are those settings.
/// </summary>
public static class GitOpsDeploymentSettings
{
    /// <summary>The stable Deployment's fields Kubestead writes: its template at full promotion, its replicas without a mesh.</summary>
    public static GitOpsIgnoredFields? Fields(RolloutSpec spec, string ns)
    {
        var pointers = new List<string>();
        if (spec.Policies.Promotion != "weightOnly") pointers.Add("/spec/template");
        if (spec.MeshProvider == MeshProviders.None) pointers.Add("/spec/replicas");
        return pointers.Count == 0 ? null : new GitOpsIgnoredFields("apps", "Deployment", spec.StableDeployment, ns, pointers);
    }

    public static string AddTo(string argoCd, RolloutSpec spec, string ns)
    {
        if (Fields(spec, ns) is not { } fields) return argoCd;
        var pointers = fields.Pointers;
        var marker = $"    kind: Deployment\n    name: {spec.StableDeployment}\n";
        if (argoCd.Contains(marker, StringComparison.Ordinal))
        {
            // The routing object is already this Deployment (no mesh): add the template to its pointers.
            foreach (var p in pointers.Where(p => !argoCd.Contains($"      - {p}\n", StringComparison.Ordinal)))
                argoCd = argoCd.Replace("    jsonPointers:\n", $"    jsonPointers:\n      - {p}\n", StringComparison.Ordinal);
        }
        else
        {
            var entry = string.Join("\n", [
                "  - group: apps",
                "    kind: Deployment",
                $"    name: {spec.StableDeployment}",
                $"    namespace: {ns}",
                "    jsonPointers:",
                .. pointers.Select(p => $"      - {p}"),
            ]) + "\n";
            var at = argoCd.IndexOf("syncPolicy:", StringComparison.Ordinal);
            argoCd = at < 0 ? argoCd + "\n" + entry : argoCd.Insert(at, entry);
        }
        return argoCd;
    }
}
