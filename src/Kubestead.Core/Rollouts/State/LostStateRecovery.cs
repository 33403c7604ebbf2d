using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;
using Kubestead.Specs;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Abort of a rollout whose state ConfigMap was deleted mid-rollout (issue #26 item 9): the spec copy on its Lease
/// (<see cref="RolloutLease.SpecAnnotation"/>) is enough to rebuild the routers and the footprint, so the record is
/// re-created as Aborted with its clean-up not started, and abort's ordinary path (traffic to stable, routes, canary
/// after scaleDownDelay, objects found by their marks) finishes it like any other. When the Lease is gone too, the
/// spec file the user gives abort (<c>abort --file</c>, <c>Stop-KubesteadRollout -Path</c>) names the route objects
/// instead; everything Kubestead created or changed is found by its ownership marks as usual.
/// </summary>
public static class LostStateRecovery
{
    /// <summary>
    /// The record abort re-creates, not yet written (a dry run lists it), from the Lease's spec copy, else from
    /// <paramref name="specFile"/>; throws <see cref="RolloutNotFoundException"/> without either, and refuses a spec file
    /// that does not parse or names another rollout before anything is written.
    /// </summary>
    public static async Task<StoredRollout> PlanAsync(IKubernetesApi api, TimeProvider clock, DriverIdentity driver, string ns, string name, CancellationToken ct,
        SpecFile? specFile = null)
    {
        string? yaml = null;
        try
        {
            yaml = RolloutLease.SpecCopy(await api.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(name), ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
        var source = $"the spec copy on Lease {RolloutLease.ObjectName(name)}";
        if (yaml is null && specFile is not null)
        {
            RequireSameRollout(specFile, ns, name);
            (yaml, source) = (specFile.Yaml, $"spec file {specFile.Path} (Lease {RolloutLease.ObjectName(name)} was missing too)");
        }
        if (yaml is null) throw new RolloutNotFoundException(ns, name);
        var now = clock.GetUtcNow();
        var message = $"ConfigMap {RolloutStateStore.ObjectName(name)} (the rollout's state) was missing: re-created by {driver} from {source} to abort the rollout";
        var status = new RolloutStatus
        {
            Phase = RolloutPhase.Aborted,
            Message = message,
            Prepared = true,
            StartedAt = now,
            UpdatedAt = now,
            FinishedAt = now,
        }.WithHistory(new RolloutHistoryEntry(now, driver.ToString(), "abort", message));
        var recovered = new StoredRollout(ns, name, yaml, status, "");
        recovered.ParseSpec(); // a copy that no longer parses is refused before anything is written
        return recovered;
    }

    /// <summary>
    /// A spec file stands in for the lost state only if it is the same rollout: aborting by another rollout's routes and
    /// marks would move traffic that is not this rollout's. A file without metadata.namespace means the namespace abort was
    /// given; one that names a namespace, "default" included, must name that one.
    /// </summary>
    private static void RequireSameRollout(SpecFile file, string ns, string name)
    {
        var parsed = RolloutSpecParser.Parse(file.Yaml, file.Path);
        if (!parsed.IsValid)
            throw new KubesteadException("InvalidSpec", KubesteadErrorKind.InvalidInput, $"{file.Path}: {string.Join("; ", parsed.Problems)}", file.Path);
        var spec = parsed.Spec!;
        if (spec.Name != name)
            throw new KubesteadException("SpecNamesAnotherRollout", KubesteadErrorKind.InvalidInput,
                $"{file.Path}: metadata.name is '{spec.Name}', not rollout '{name}'; give abort the spec that started '{name}'", file.Path);
        if (spec.Namespace != ns && NamesNamespace(file.Yaml))
            throw new KubesteadException("SpecNamesAnotherRollout", KubesteadErrorKind.InvalidInput,
                $"{file.Path}: metadata.namespace is '{spec.Namespace}', not '{ns}', where rollout '{name}' is aborted", file.Path);
    }

    /// <summary>
    /// Whether the file writes metadata.namespace out: the parser reads a file without it as "default", which must not let a
    /// file that says <c>namespace: default</c> stand in for a rollout in another namespace.
    /// </summary>
    private static bool NamesNamespace(string yaml)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.FirstOrDefault()?.RootNode is YamlDotNet.RepresentationModel.YamlMappingNode root
            && SpecReader.Child(root, "metadata") is YamlDotNet.RepresentationModel.YamlMappingNode metadata
            && SpecReader.Child(metadata, "namespace") is not null;
    }

    /// <summary>Writes the record <see cref="PlanAsync"/> describes; one created meanwhile by someone else is used as it is.</summary>
    public static async Task<StoredRollout> RecreateAsync(IKubernetesApi api, TimeProvider clock, DriverIdentity driver, string ns, string name, CancellationToken ct,
        SpecFile? specFile = null)
    {
        var planned = await PlanAsync(api, clock, driver, ns, name, ct, specFile).ConfigureAwait(false);
        var store = new RolloutStateStore(api);
        try
        {
            return await store.CreateAsync(ns, name, planned.SpecYaml, planned.Status, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            return await store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        }
    }
}
