using Kubestead.Specs;

namespace Kubestead.Rollouts;

/// <summary>
/// GitOps settings for the stable Deployment. After a full promotion stable runs the canary's template; Argo CD
/// self-heal or Flux would put Git's template back (the old image). Either the image lives in Git and the pipeline
/// writes it there, or the GitOps tool must ignore the template fields Kubestead writes: these are those settings.
/// </summary>
public static class GitOpsDeploymentSettings
{
    public static (string ArgoCd, string Flux) AddTo(string argoCd, string flux, RolloutSpec spec, string ns)
    {
        var pointers = new List<string>();
        if (spec.Policies.Promotion != "weightOnly") pointers.Add("/spec/template");
        if (spec.MeshProvider == MeshProviders.None) pointers.Add("/spec/replicas");
        var marker = $"    kind: Deployment\n    name: {spec.StableDeployment}\n";
        if (pointers.Count == 0) return (argoCd, flux);
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
        flux += string.Join("\n", [
            "",
            $"# Deployment {spec.StableDeployment}: after promotion it runs the canary's template. Either write the new image into Git",
            "# in the pipeline (the rollout spec reads the same value), or annotate the Deployment in Git so Flux only creates it:",
            "metadata:",
            "  annotations:",
            "    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent",
        ]);
        return (argoCd, flux);
    }
}
