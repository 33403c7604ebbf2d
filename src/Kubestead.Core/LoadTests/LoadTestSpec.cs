namespace Kubestead.LoadTests;

/// <summary>
/// <c>spec.analysis.loadTest</c>: synthetic requests sent to the canary while an analysis step runs, for canaries whose
/// own traffic is too thin to judge. Each request carries <see cref="MarkerHeader"/> set to the rollout's name, and the
/// metrics tell them apart by <see cref="MetricLabel"/> (Istio: a Telemetry tag override reading that header), so they
/// are judged as their own evidence (see docs/load-tests.md), never mixed into the user traffic's counts.
/// </summary>
/// <param name="Url">Where the requests go (absolute http/https): typically the Service, with <see cref="Headers"/> that the header route sends to the canary.</param>
/// <param name="RequestsPerSecond">The steady rate while an analysis step runs.</param>
/// <param name="Headers">Sent with every request (e.g. <c>x-canary: "true"</c>, the header route's match).</param>
/// <param name="Method">GET or HEAD.</param>
/// <param name="Timeout">Per request; a request that takes longer is abandoned (the mesh still counts what the canary answered).</param>
/// <param name="Control">
/// A second stream at the same rate, without the route headers, so the synthetic requests have a control of their own
/// (they follow the weights: mostly stable). A quiet service's own control is as thin as its canary: without this the
/// synthetic canary is compared with the users' few stable requests, and a Pass can take as long as before.
/// </param>
public sealed record LoadTestSpec(
    string Url,
    double RequestsPerSecond,
    IReadOnlyDictionary<string, string> Headers,
    string Method,
    TimeSpan Timeout,
    string MarkerHeader,
    string MetricLabel,
    LoadTestTarget? Control = null)
{
    public const string DefaultMarkerHeader = "x-kubestead-load-test";
    public const string DefaultMetricLabel = "kubestead_load_test";
    public const double MaxRequestsPerSecond = 500;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(1);
    public static readonly string[] Methods = ["GET", "HEAD"];

    public bool Equals(LoadTestSpec? other) => other is not null && Url == other.Url && RequestsPerSecond == other.RequestsPerSecond
        && Method == other.Method && Timeout == other.Timeout && MarkerHeader == other.MarkerHeader && MetricLabel == other.MetricLabel
        && LoadTestTarget.SameHeaders(Headers, other.Headers) && Equals(Control, other.Control);

    public override int GetHashCode() => HashCode.Combine(Url, RequestsPerSecond, Method, MarkerHeader, MetricLabel);
}

/// <summary>Where one stream of a load test goes: a URL and the headers sent with it (besides the marker).</summary>
public sealed record LoadTestTarget(string Url, IReadOnlyDictionary<string, string> Headers)
{
    public bool Equals(LoadTestTarget? other) => other is not null && Url == other.Url && SameHeaders(Headers, other.Headers);

    public override int GetHashCode() => Url.GetHashCode(StringComparison.Ordinal);

    public static bool SameHeaders(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(h => b.TryGetValue(h.Key, out var v) && v == h.Value);
}
