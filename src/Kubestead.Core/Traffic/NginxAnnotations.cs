namespace Kubestead.Traffic;

/// <summary>
/// ingress-nginx's canary annotations (default prefix <c>nginx.ingress.kubernetes.io</c>). The controller evaluates a
/// canary Ingress's rules in the order header, cookie, weight: a request whose header or cookie decides goes where it
/// says, every other request is split by weight.
/// </summary>
public static class NginxAnnotations
{
    public const string Prefix = "nginx.ingress.kubernetes.io/";
    public const string Canary = Prefix + "canary";
    public const string Weight = Prefix + "canary-weight";
    public const string WeightTotal = Prefix + "canary-weight-total";
    public const string ByHeader = Prefix + "canary-by-header";
    public const string ByHeaderValue = Prefix + "canary-by-header-value";
    public const string ByHeaderPattern = Prefix + "canary-by-header-pattern";
    public const string ByCookie = Prefix + "canary-by-cookie";

    /// <summary>The class annotation older controllers select Ingresses by (before spec.ingressClassName).</summary>
    public const string IngressClass = "kubernetes.io/ingress.class";

    /// <summary>Every canary annotation Kubestead may write; drift and clean-up look at these only.</summary>
    public static readonly string[] Managed = [Canary, Weight, WeightTotal, ByHeader, ByHeaderValue, ByHeaderPattern, ByCookie];

    /// <summary>The total ingress-nginx weighs against when canary-weight-total is absent or not above it.</summary>
    public const int DefaultTotal = 100;

    /// <summary>
    /// The total the controller actually uses: its balancer starts from 100 and takes canary-weight-total only when it is
    /// larger, so 20 (or 100) means 100.
    /// </summary>
    public static long EffectiveTotal(long? annotated) => annotated is { } t && t > DefaultTotal ? t : DefaultTotal;

    /// <summary>Why spec.nginx.weightTotal below 100 is refused, for the spec parser and the router alike.</summary>
    public static string TotalIgnoredMessage(long total) =>
        $"ingress-nginx honours canary-weight-total only above {DefaultTotal} (it weighs out of {DefaultTotal} otherwise), so with {total} " +
        $"the canary would get {total}% of every share Kubestead reports (setWeight 50 would send {(total / 2.0).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}%); " +
        $"use {DefaultTotal} (whole percents) or more, for example 1000 for steps of 0.1%";

    /// <summary>
    /// The non-canary annotations ingress-nginx reads from a canary Ingress itself (its docs: load-balance,
    /// upstream-hash-by and the session-affinity ones); every other one comes from the stable Ingress.
    /// </summary>
    public static bool IsReadFromCanary(string key) =>
        key is Prefix + "load-balance" or Prefix + "affinity" or Prefix + "affinity-mode"
        || key.StartsWith(Prefix + "upstream-hash-by", StringComparison.Ordinal)
        || key.StartsWith(Prefix + "session-cookie-", StringComparison.Ordinal);

    public static bool IsCanary(System.Text.Json.Nodes.JsonObject ingress) =>
        string.Equals(ingress["metadata"]?["annotations"]?[Canary]?.GetValue<string>(), "true", StringComparison.OrdinalIgnoreCase);
}
