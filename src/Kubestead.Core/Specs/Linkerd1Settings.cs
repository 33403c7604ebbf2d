namespace Kubestead.Specs;

/// <summary>
/// Linkerd 1.x: the dtab of <see cref="DtabNamespace"/> in the namerd at <see cref="Namerd"/> (its HTTP controller);
/// Kubestead's dentry <c>Prefix => S * StableDestination &amp; C * CanaryDestination</c>. The canary Deployment and
/// <see cref="CanaryService"/> come from the usual canary machinery; <see cref="CanaryDestination"/> is the name namerd
/// resolves to that Service.
/// </summary>
public sealed record Linkerd1Settings(
    Uri Namerd,
    string DtabNamespace,
    string Prefix,
    string StableDestination,
    string CanaryDestination,
    string CanaryService);
