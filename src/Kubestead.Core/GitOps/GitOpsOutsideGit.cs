using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.GitOps;

/// <summary>
/// GitOps settings for meshes whose routing Kubestead keeps out of Git: Linkerd 1.x's dentry lives in namerd (not a
/// Kubernetes object, so no GitOps tool reconciles it), and ingress-nginx's canary Ingress and Service are created and
/// deleted by Kubestead (the stable Ingress is never written). Only the stable Deployment's fields can need ignoring;
/// no rule names a routing object, since there is none in Git to ignore.
/// </summary>
public static class GitOpsOutsideGit
{
    public static GitOpsConfigResult Build(string name, string ns, RolloutSpec spec, GitOpsIgnoredFields? deployment)
    {
        var note = spec.MeshProvider == MeshProviders.Linkerd1
            ? $"# Routing: the dtab lives in namerd ({spec.Linkerd1!.Namerd}, dtab namespace '{spec.Linkerd1.DtabNamespace}', dentry {spec.Linkerd1.Prefix}), not in Kubernetes: nothing to ignore for it."
            : $"# Routing: Kubestead creates and deletes the canary Ingress {spec.Nginx!.CanaryIngress ?? spec.Nginx.Ingress + "-canary"} and Service {spec.Nginx.CanaryService}; they are not in Git, and the stable Ingress {spec.Nginx.Ingress} is never written: nothing to ignore for them.";
        if (deployment is null)
        {
            const string none = "# Nothing else to ignore: with promotion weightOnly Kubestead does not write the stable Deployment either.";
            return new GitOpsConfigResult(name, ns, $"{note}\n{none}", $"{note}\n{none}", []);
        }
        var argoCd = string.Join("\n", [
            note,
            "ignoreDifferences:",
            "  - group: apps",
            "    kind: Deployment",
            $"    name: {deployment.Name}",
            $"    namespace: {ns}",
            "    jsonPointers:",
            .. deployment.Pointers.Select(p => $"      - {p}"),
            "syncPolicy:",
            "  syncOptions:",
            "    - RespectIgnoreDifferences=true",
        ]);
        return new GitOpsConfigResult(name, ns, argoCd, note + "\n" + GitOpsFluxSettings.Build([deployment], spec), deployment.Pointers);
    }
}
