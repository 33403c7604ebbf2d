using Kubestead.Specs;

namespace Kubestead.GitOps;

/// <summary>One object whose fields Kubestead writes and a GitOps tool must leave alone (RFC 6901 pointers).</summary>
public sealed record GitOpsIgnoredFields(string Group, string Kind, string Name, string Namespace, IReadOnlyList<string> Pointers);

/// <summary>
/// Flux's equivalents of Argo CD's <c>ignoreDifferences</c>, for the same objects and pointers: drift-detection ignore
/// rules in the HelmRelease (helm-controller, <c>spec.driftDetection.ignore</c>) or in the Kustomization
/// (kustomize-controller with <c>spec.driftIgnoreRules</c>), and, for a kustomize-controller without ignore rules, the
/// annotation that makes Flux only create the objects. Three YAML documents, each introduced by a comment.
/// </summary>
public static class GitOpsFluxSettings
{
    public static string Build(IReadOnlyList<GitOpsIgnoredFields> objects, RolloutSpec spec)
    {
        var rules = objects.SelectMany(o => new[]
        {
            $"      - paths: [{string.Join(", ", o.Pointers.Select(p => $"\"{p}\""))}]",
            $"        target: {{ group: {(o.Group.Length == 0 ? "\"\"" : o.Group)}, kind: {o.Kind}, name: {o.Name}, namespace: {o.Namespace} }}",
        }).ToList();
        var names = string.Join(", ", objects.Select(o => $"{o.Kind} {o.Name}"));
        var lines = new List<string>
        {
            $"# Flux reconciles {names} from Git and would undo what Kubestead writes (weights; after promotion, stable's template).",
            "# HelmRelease (helm-controller): let drift detection ignore those fields.",
            "apiVersion: helm.toolkit.fluxcd.io/v2",
            "kind: HelmRelease",
            "spec:",
            "  driftDetection:",
            "    mode: enabled",
            "    ignore:",
        };
        lines.AddRange(rules);
        lines.AddRange([
            "---",
            "# Kustomization (a kustomize-controller with drift ignore rules): the same rules.",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1",
            "kind: Kustomization",
            "spec:",
            "  driftIgnoreRules:",
        ]);
        lines.AddRange(rules.Select(r => r[2..]));
        lines.AddRange([
            "---",
            $"# A kustomize-controller without ignore rules: annotate {names} in Git so Flux only creates them and leaves Kubestead's changes alone.",
        ]);
        if (spec.Policies.Promotion != "weightOnly")
            lines.Add($"# Deployment {spec.StableDeployment}: after promotion it runs the canary's template. Either write the new image into Git in the pipeline " +
                      "(the rollout spec reads the same value), or let Flux leave its template alone as above.");
        lines.AddRange([
            "metadata:",
            "  annotations:",
            "    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent",
        ]);
        return string.Join("\n", lines);
    }
}
