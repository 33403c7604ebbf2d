namespace Kubestead.LoadTests;

/// <summary>
/// How a load test's synthetic requests are named as evidence: each metric of the analysis gets a sibling judged on the
/// canary's synthetic requests alone, named <c>&lt;metric&gt;@loadTest</c>, so every verdict, history row and report line
/// says which traffic it came from ('@' cannot occur in a metric's own name, which is a Kubernetes name).
/// </summary>
public static class LoadTestEvidence
{
    public const string Suffix = "@loadTest";

    public static string NameFor(string metric) => metric + Suffix;

    public static bool IsLoadTest(string metric) => metric.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary>The metric a verdict belongs to, whichever traffic it was judged on.</summary>
    public static string MetricOf(string name) => IsLoadTest(name) ? name[..^Suffix.Length] : name;
}
