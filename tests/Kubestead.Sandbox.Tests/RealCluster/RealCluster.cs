using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// Runs against the cluster that KUBESTEAD_TEST_KUBECONFIG names (./test.sh starts ../shared/kube-apiserver and sets it).
/// Skips, with a message, only where that variable is unset and ../shared/kube-apiserver is absent (a clone elsewhere);
/// with ../shared present a missing cluster is a failure, never a skip.
/// </summary>
public sealed class RealClusterFactAttribute : FactAttribute
{
    public RealClusterFactAttribute()
    {
        if (RealCluster.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>A real-cluster test that also runs kubectl: skips, with a message, where kubectl is not on PATH.</summary>
public sealed class RealClusterKubectlFactAttribute : FactAttribute
{
    public RealClusterKubectlFactAttribute()
    {
        if (RealCluster.SkipReason is { } reason) Skip = reason;
        else if (Server.KubectlTests.Kubectl is null) Skip = "kubectl is not on PATH: install kubectl to check what Kubestead wrote with it";
    }
}

/// <summary>The theory form of <see cref="RealClusterFactAttribute"/>, with the same skip rule.</summary>
public sealed class RealClusterTheoryAttribute : TheoryAttribute
{
    public RealClusterTheoryAttribute()
    {
        if (RealCluster.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// The real cluster of the test run. Every client for it is created by <see cref="ConnectAsync"/>, so swapping the
/// implementation behind <see cref="IKubernetesApi"/> is a change in this one place.
/// </summary>
public static class RealCluster
{
    /// <summary>The contexts of the kit's kubeconfig: everything, and read-only on the mesh, workload and state types.</summary>
    public const string Admin = "admin";
    public const string Limited = "limited";

    internal static string? SkipReason => Kubestead.Tests.Shared.RealApiServer.SkipReason;

    public static string Kubeconfig => Kubestead.Tests.Shared.RealApiServer.Kubeconfig;

    /// <summary>A client for one context of the real cluster's kubeconfig, defaulting to <paramref name="ns"/>.</summary>
    public static Task<IKubernetesApi> ConnectAsync(string context = Admin, string? ns = null, TimeProvider? clock = null) =>
        Task.FromResult(Connect(Kubeconfig, context, ns, clock));

    /// <summary>The one place that picks the <see cref="IKubernetesApi"/> implementation for a kubeconfig (also the sandbox's).</summary>
    internal static IKubernetesApi Connect(string kubeconfig, string? context, string? ns = null, TimeProvider? clock = null) =>
        Kubestead.Tests.Shared.RealApiServer.Connect(kubeconfig, context, ns, clock);

    /// <summary>A fresh namespace (the server has no namespace controller, so names are never reused).</summary>
    public static Task<string> CreateNamespaceAsync(IKubernetesApi admin, string prefix = "ks") =>
        Kubestead.Tests.Shared.RealApiServer.CreateNamespaceAsync(admin, prefix);
}
