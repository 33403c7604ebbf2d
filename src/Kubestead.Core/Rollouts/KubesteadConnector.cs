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
        var connection = Kubernetes.KubeConfigResolver.Resolve(options.KubeConfig, options.Context, options.Namespace);
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
