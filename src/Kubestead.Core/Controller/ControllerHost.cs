using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>
/// Connects a controller replica to its cluster (kubeconfig or in-cluster) and runs it until cancelled: the CLI's one
/// call. The replica drives through the same engine (<see cref="RolloutDriver"/>, built by <see cref="KubesteadService"/>
/// with its client wording, Events and notifications) that `start` and `wait` use, under the controller's own identity,
/// so Leases and history show which replica drove what.
/// </summary>
public static class ControllerHost
{
    /// <summary>The replica's name: the pod name in a cluster (HOSTNAME), plus the process id when run by hand.</summary>
    public static string DefaultReplica(Func<string, string?> environment) =>
        environment("POD_NAME") ?? $"{environment("HOSTNAME") ?? Environment.MachineName}-{Environment.ProcessId}";

    public static async Task RunAsync(ControllerHostOptions options, IControllerObserver observer, IRolloutObserver rolloutObserver,
        Action<RolloutController, KubesteadService>? started, CancellationToken stop, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var connection = KubeConfigResolver.Resolve(options.Connection.KubeConfig, options.Connection.Context, options.Connection.Namespace);
        var replica = options.Replica ?? DefaultReplica(environment);
        var leaseDuration = options.LeaseDuration ?? TimeSpan.FromSeconds(60);
        if (leaseDuration < TimeSpan.FromSeconds(3))
            throw new KubesteadException("InvalidLeaseDuration", KubesteadErrorKind.InvalidInput, $"--lease-duration must be at least 3 seconds (got {leaseDuration})");
        if (options.MaxConcurrentRollouts < 1)
            throw new KubesteadException("InvalidMaxRollouts", KubesteadErrorKind.InvalidInput, $"--max-rollouts must be at least 1 (got {options.MaxConcurrentRollouts})");
        // The engine owns the client and disposes it.
        // Reads of Deployments and state ConfigMaps come from watches (docs/controller.md, "API traffic"); writes go through.
        var api = ControllerReadCache.Over(new KubernetesClientAdapter(connection, TimeProvider.System, requests: options.OnApiRequest), TimeProvider.System,
            (type, ns, e) => observer.OnEvent(new ControllerEvent(TimeProvider.System.GetUtcNow(), ControllerEventKind.Trouble, null,
                $"read cache: watch of {type.Plural} in {ns} broke ({e.Message}); reading from the server until it is relisted")));
        await using var engine = new KubesteadService(api, new KubesteadServiceOptions
        {
            Observer = rolloutObserver,
            Driver = new DriverIdentity("controller", replica, null, replica),
            LeaseDuration = leaseDuration,
            RecordEvents = true,
        });
        var controller = new RolloutController(api, engine.Driver, new ControllerOptions
        {
            Replica = replica,
            Namespaces = options.Namespaces is { Count: > 0 } ns ? ns : null,
            HomeNamespace = options.HomeNamespace ?? connection.Namespace,
            MaxConcurrentRollouts = options.MaxConcurrentRollouts,
            HeartbeatDuration = leaseDuration,
        }, observer);
        started?.Invoke(controller, engine);
        await controller.RunAsync(stop).ConfigureAwait(false);
    }
}
