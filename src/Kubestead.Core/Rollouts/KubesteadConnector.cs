using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts;

/// <summary>Creates the service the cmdlets and the CLI talk to.</summary>
public static class KubesteadConnector
{
    /// <summary>Connects with a kubeconfig (KUBECONFIG, an explicit path, a context) or in-cluster config.</summary>
    public static Task<IKubesteadService> ConnectAsync(
        ConnectionOptions options, IRolloutObserver? observer = null, TimeProvider? clock = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return ConnectAsync(Resolve(options), options, observer, clock, ct);
    }

    /// <summary>Where <paramref name="options"/> lead (server, CA, credentials, namespace), before any request: a host may
    /// prepare for that connection (the native CLI skips the machine's CA store when the kubeconfig names the cluster's CA).</summary>
    public static Kubernetes.ClusterConnection Resolve(ConnectionOptions options) =>
        Kubernetes.KubeConfigResolver.Resolve(options.KubeConfig, options.Context, options.Namespace);

    /// <summary>Connects through a connection already resolved by <see cref="Resolve"/>; the timeouts come from <paramref name="options"/>.</summary>
    public static Task<IKubesteadService> ConnectAsync(Kubernetes.ClusterConnection connection,
        ConnectionOptions options, IRolloutObserver? observer = null, TimeProvider? clock = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        // A real cluster's users read what Kubestead did with kubectl describe: record Events (a courtesy that never fails a rollout).
        var serviceOptions = new KubesteadServiceOptions { Clock = clock ?? TimeProvider.System, Observer = observer ?? NullRolloutObserver.Instance, RecordEvents = true };
        var client = new Kubernetes.KubernetesClientAdapter(connection, serviceOptions.Clock,
            retry: new Kubernetes.RetryPolicy(Budget: options.OutageBudget),
            log: observer is null ? null : line => observer.OnEvent(new ApiRequestEvent(serviceOptions.Clock.GetUtcNow(), connection.Namespace, line)),
            requestTimeout: options.RequestTimeout);
        return Task.FromResult<IKubesteadService>(new KubesteadService(client, serviceOptions));
    }

    /// <summary>Operations that need no cluster.</summary>
    public static IKubesteadOffline Offline() => new KubesteadOffline();
}
