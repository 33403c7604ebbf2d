using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Tests.Shared;

/// <summary>
/// The real kube-apiserver of the test run (./test.sh starts ../shared/kube-apiserver and sets KUBESTEAD_TEST_KUBECONFIG):
/// when its tests skip, where its kubeconfig is, and how a test gets a namespace of its own. Linked into every test project
/// with real-cluster tests, so the skip rule and the kit's layout are written once.
/// </summary>
internal static class RealApiServer
{
    /// <summary>
    /// Why real-cluster tests skip, or null when they run: only where the variable is unset and ../shared/kube-apiserver is
    /// absent (a clone elsewhere); with ../shared present a missing cluster is a failure, never a skip.
    /// </summary>
    public static string? SkipReason
    {
        get
        {
            if (Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") is { Length: > 0 }) return null;
            var kit = Path.GetFullPath(Path.Combine(RepositoryRoot.Path, "..", "shared", "kube-apiserver", "start"));
            return File.Exists(kit)
                ? null
                : "no real cluster: KUBESTEAD_TEST_KUBECONFIG is unset and ../shared/kube-apiserver is absent (run ./test.sh beside ../shared)";
        }
    }

    public static string Kubeconfig =>
        Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") is { Length: > 0 } p && File.Exists(p)
            ? p
            : throw new InvalidOperationException(
                "KUBESTEAD_TEST_KUBECONFIG does not name a kubeconfig; run the suite through ./test.sh, which starts ../shared/kube-apiserver");

    /// <summary>
    /// A client for one context of <paramref name="kubeconfig"/>: the one place that picks the <see cref="IKubernetesApi"/>
    /// implementation the real-cluster tests use, so swapping it is a change here.
    /// </summary>
    public static IKubernetesApi Connect(string kubeconfig, string? context, string? ns = null, TimeProvider? clock = null) =>
        new KubernetesClientAdapter(KubeConfigResolver.Resolve(kubeconfig, context, ns), clock);

    /// <summary>
    /// A fresh namespace named <paramref name="prefix"/>-&lt;random&gt;, at most <paramref name="maxLength"/> characters
    /// (the server has no namespace controller, so a deleted name stays taken: names are never reused).
    /// </summary>
    public static async Task<string> CreateNamespaceAsync(IKubernetesApi admin, string prefix, int maxLength = 40)
    {
        var ns = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(maxLength, prefix.Length + 33)];
        await admin.CreateAsync(ResourceType.Namespace, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
        return ns;
    }
}
