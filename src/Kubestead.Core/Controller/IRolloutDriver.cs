using Kubestead.Rollouts;

namespace Kubestead.Controller;

/// <summary>The one engine call the controller makes per rollout (<see cref="KubesteadService.DriveIfFreeAsync"/>).</summary>
public interface IRolloutDriver
{
    Task<DriveAttempt> DriveIfFreeAsync(string ns, string name, CancellationToken ct);

    /// <summary>
    /// A sight of a rollout's Lease from the controller's watch. The engine judges another holder's Lease expired by how
    /// long it has seen the Lease's resourceVersion unchanged; a watch sees every renewal, so a dead replica's Lease expires
    /// one Lease duration after its last renewal instead of one duration after the survivor first looked.
    /// </summary>
    void ObserveLease(string ns, string name, string? resourceVersion);
}
