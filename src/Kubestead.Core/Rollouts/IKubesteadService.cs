using Kubestead.Analysis;
using Kubestead.Rollouts.Engine;


namespace Kubestead.Rollouts;

/// <summary>
/// Everything the cmdlets and the CLI can ask of Kubestead. Each member is one call; the surfaces only parse,
/// bind and print. Long operations report through the <see cref="IRolloutObserver"/> given at connection time
/// and stop cleanly when <paramref name="ct"/> is cancelled (the cluster state stays resumable).
/// Errors are <see cref="KubesteadException"/> (with ErrorId, Kind and Target) or <c>KubernetesApiException</c>.
/// </summary>
public interface IKubesteadService : IAsyncDisposable
{
    /// <summary>The namespace used when a call gives none (kubeconfig context, -Namespace, or in-cluster).</summary>
    string DefaultNamespace { get; }

    /// <summary>Validates the spec (all problems at once, as InvalidInput), records the rollout and, when
    /// <paramref name="wait"/>, drives it until it completes, rolls back or pauses.</summary>
    Task<RolloutResult> StartAsync(StartRequest request, bool wait, CancellationToken ct = default);

    Task<RolloutResult> GetAsync(string? ns, string name, CancellationToken ct = default);

    /// <summary>All rollouts in a namespace, or in every namespace when <paramref name="ns"/> is "*".</summary>
    Task<IReadOnlyList<RolloutResult>> ListAsync(string? ns, CancellationToken ct = default);

    /// <summary>Drives the rollout when no other driver holds its lease, else watches it, until it is terminal
    /// or paused; a timeout returns the current state.</summary>
    Task<RolloutResult> WaitAsync(string? ns, string name, TimeSpan? timeout, CancellationToken ct = default);

    /// <summary>
    /// As <see cref="WaitAsync(string?, string, TimeSpan?, CancellationToken)"/>; with <paramref name="throughPauses"/>
    /// false it returns at a manual or drift pause (a CI step that treats a pause as its failure) instead of judging the
    /// paused canary until someone resumes or aborts it.
    /// </summary>
    Task<RolloutResult> WaitAsync(string? ns, string name, TimeSpan? timeout, bool throughPauses, CancellationToken ct = default);

    Task<RolloutResult> PauseAsync(string? ns, string name, CancellationToken ct = default);

    Task<RolloutResult> ResumeAsync(string? ns, string name, bool wait, CancellationToken ct = default);

    /// <summary>Passes the approval step the rollout waits at; <paramref name="approver"/> (default: this driver's identity) is recorded with the time.</summary>
    Task<RolloutResult> ApproveAsync(string? ns, string name, string? approver, bool wait, CancellationToken ct = default);

    /// <summary>All traffic to stable in one write, from any phase, then clean-up; a canary kept for scaleDownDelay is left, recorded, for the next comer.</summary>
    Task<RolloutResult> AbortAsync(string? ns, string name, CancellationToken ct = default);

    /// <summary>Abort; with <paramref name="waitForCleanup"/> it also waits out scaleDownDelay and removes the canary itself.</summary>
    Task<RolloutResult> AbortAsync(string? ns, string name, bool waitForCleanup, CancellationToken ct = default);

    /// <summary>
    /// Abort; when neither the rollout's state nor its Lease's spec copy is left, <paramref name="specFile"/> (the spec
    /// that started it) names its route objects, and what Kubestead created or changed is found by its marks.
    /// </summary>
    Task<RolloutResult> AbortAsync(string? ns, string name, bool waitForCleanup, SpecFile? specFile, CancellationToken ct = default);

    /// <summary>Skips the remaining steps and promotes the canary.</summary>
    Task<RolloutResult> PromoteAsync(string? ns, string name, bool wait, CancellationToken ct = default);

    Task<WeightReport> SetWeightAsync(string? ns, string name, double canaryWeight, CancellationToken ct = default);

    Task<WeightReport> GetWeightAsync(string? ns, string name, CancellationToken ct = default);

    Task<RolloutResult> SetHeaderRouteAsync(string? ns, string name, HeaderRouteRequest route, CancellationToken ct = default);

    Task<RolloutResult> RemoveHeaderRouteAsync(string? ns, string name, string routeName, CancellationToken ct = default);

    Task<AnalysisReport> GetAnalysisAsync(string? ns, string name, CancellationToken ct = default);

    Task<SpecTestReport> TestAsync(StartRequest request, bool checkCluster, CancellationToken ct = default);

    /// <summary>Scaffolds a spec (YAML) from what the cluster holds for a service.</summary>
    Task<string> NewSpecAsync(string? ns, string service, string? meshProvider, CancellationToken ct = default);

    Task<GitOpsConfigResult> GetGitOpsConfigAsync(string? ns, string name, CancellationToken ct = default);

    /// <summary>Every write <paramref name="operation"/> would make, without making it.</summary>
    Task<IReadOnlyList<PlannedChange>> PlanAsync(PlannedOperation operation, CancellationToken ct = default);

    /// <summary>
    /// Makes the change of a -PassThru cmdlet (pause, set or remove a header route) whose <paramref name="plan"/> (from
    /// <see cref="PlanAsync"/>) the caller has confirmed. A plan with nothing to write (already paused, no such route)
    /// calls no write at all, so neither the rollout's history nor its notifications and Events change; the rollout is
    /// then returned as it is when <paramref name="returnUnchanged"/>, else null (no request is made).
    /// </summary>
    async Task<RolloutResult?> ChangeAsync(PlannedOperation operation, IReadOnlyList<PlannedChange> plan, bool returnUnchanged, CancellationToken ct = default)
    {
        var (ns, name) = operation switch
        {
            PauseOperation o => (o.Namespace, o.Name),
            SetHeaderRouteOperation o => (o.Namespace, o.Name),
            RemoveHeaderRouteOperation o => (o.Namespace, o.Name),
            _ => throw new ArgumentException($"{operation.GetType().Name} is not a change of one thing of a rollout", nameof(operation)),
        };
        if (plan.All(c => c.Verb == "none")) return returnUnchanged ? await GetAsync(ns, name, ct).ConfigureAwait(false) : null;
        return operation switch
        {
            PauseOperation => await PauseAsync(ns, name, ct).ConfigureAwait(false),
            SetHeaderRouteOperation o => await SetHeaderRouteAsync(ns, name, o.Route, ct).ConfigureAwait(false),
            _ => await RemoveHeaderRouteAsync(ns, name, ((RemoveHeaderRouteOperation)operation).RouteName, ct).ConfigureAwait(false),
        };
    }

    /// <summary>
    /// Waits until the Kubernetes Events recorded so far are written: a host that keeps one service for many commands
    /// (a PowerShell session) calls it where a one-command host disposes, so a process that exits next loses none.
    /// </summary>
    Task FlushEventsAsync(CancellationToken ct = default) => Task.CompletedTask;
}

/// <summary>What needs no cluster: spec validation, the split planner, ad hoc analysis.</summary>
public interface IKubesteadOffline
{
    SpecTestReport ValidateSpec(string yaml, string? fileName);

    SplitPlanResult PlanSplit(SplitPlanRequest request, CancellationToken ct = default);

    AnalysisReport AnalyzeCounts(VersionSample canary, VersionSample control, string judge = "sequential");
}
