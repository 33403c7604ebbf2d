namespace Kubestead.Rollouts;

/// <summary>Creates the service the cmdlets and the CLI talk to.</summary>
public static class KubesteadConnector
{
    /// <summary>Connects with a kubeconfig (KUBECONFIG, an explicit path, a context) or in-cluster config.</summary>
    public static Task<IKubesteadService> ConnectAsync(
        ConnectionOptions options, IRolloutObserver? observer = null, TimeProvider? clock = null, CancellationToken ct = default)
        => throw new NotImplementedException("wired when the Kubernetes client lands");

    /// <summary>Operations that need no cluster.</summary>
    public static IKubesteadOffline Offline() => new KubesteadOffline();
}
