using System.Text.Json;
using Kubestead.GitOps;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Rollouts.Canary;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts;

/// <summary>
/// The facade the cmdlets and the CLI call: each member is one user-level operation. Driving a rollout is the engine's
/// (<see cref="RolloutDriver"/>, shared with the controller host); the dry-run text is <see cref="RolloutDryRun"/>'s.
/// </summary>
public sealed class KubesteadService : IKubesteadService
{
    private readonly IKubernetesApi _api;
    private readonly KubesteadServiceOptions _options;
    private readonly RolloutStateStore _store;
    private readonly RolloutDriver _driver;
    private readonly RolloutExecutor _executor;
    private readonly RuntimeFactory _runtimes;
    private readonly StartPreflight _preflight;
    private readonly MetricQueryFactory _metrics;
    private readonly MetricProviderSet? _ownedMetrics;
    private readonly StartRequestReader _reader;
    private readonly RolloutDryRun _dryRun;
    private readonly Kubestead.Events.KubernetesEventRecorder? _events;

    public KubesteadService(IKubernetesApi api, KubesteadServiceOptions? options = null)
    {
        // Every request the engine makes goes through the wording layer, so no error reaches a user as a bare status code;
        // a value a CRD schema refuses becomes an invalid-input error naming the field.
        _api = api as DescribedKubernetesApi ?? new DescribedKubernetesApi(new SchemaRejectionTranslator(api));
        api = _api;
        _options = options ?? new KubesteadServiceOptions();
        if (_options.RecordEvents)
        {
            // Every host's events pass through here, so one recorder covers start, wait, resume, abort and the controller.
            _events = new Kubestead.Events.KubernetesEventRecorder(_options.Observer, api, _options.Clock, _options.Driver.ToString());
            _options = _options with { Observer = _events };
        }
        _store = new RolloutStateStore(api);
        _ownedMetrics = _options.Metrics is null ? MetricProviderSet.Default(api) : null;
        _metrics = _options.Metrics ?? _ownedMetrics!.Open;
        _runtimes = new RuntimeFactory(api, _options.Clock, _metrics,
            _options.NamerdHandler is { } namerd ? new HttpClient(namerd, disposeHandler: false) : null);
        _driver = new RolloutDriver(api, _store, _runtimes, new RolloutHostContext(_options.Clock, _options.Observer, _options.Driver)
        {
            LeaseDuration = _options.LeaseDuration,
            PollInterval = _options.PollInterval,
            ReleaseTimeout = _options.ReleaseTimeout,
            Notifications = _options.Notifications,
            LoadGenerator = _options.LoadGenerator ?? new Kubestead.LoadTests.HttpLoadGenerator(),
        });
        _executor = _driver.Executor;
        _preflight = new StartPreflight(api, _options.Clock, _options.Driver);
        _reader = new StartRequestReader(api);
        _dryRun = new RolloutDryRun(api, _store, _runtimes, _reader, _preflight, _options.Clock, _options.Driver);
    }

    public string DefaultNamespace => _api.DefaultNamespace;

    /// <summary>The engine under this facade, for a host that drives many rollouts itself (the controller) with the same
    /// client, observer, Events and identity as every other operation.</summary>
    public RolloutDriver Driver => _driver;

    private DateTimeOffset Now => _options.Clock.GetUtcNow();

    public async Task<RolloutResult> StartAsync(StartRequest request, bool wait, CancellationToken ct = default)
    {
        var (spec, yaml) = await _reader.ReadAsync(request, ct).ConfigureAwait(false);
        if (request.Detach)
        {
            // Checked before anything is written: a detached rollout nobody drives would hold a canary unwatched.
            await Kubestead.Controller.ControllerPresence.RequireAsync(_api, _options.Clock, request.ControllerNamespace, spec.Namespace, ct).ConfigureAwait(false);
            var recorded = await StartAsync(request with { Detach = false }, wait: false, ct).ConfigureAwait(false);
            if (recorded.Phase.IsTerminal()) return recorded;
            await Kubestead.Controller.ControllerHandoff.HandOverAsync(_api, spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            _options.Observer.OnEvent(new VerboseEvent(Now, spec.Namespace, spec.Name, $"rollout {spec.Name} handed to the controllers in namespace {request.ControllerNamespace}"));
            return await GetAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
        }
        var runtime = _runtimes.Create(spec);
        // A CI job run again: the same version attaches, another version is refused (or replaced on request), a canary
        // stable already runs writes nothing. Decided before the preflight, which refuses an unfinished rollout.
        var existing = await _store.TryLoadAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
        // An interrupted abort or --replace, or a canary kept for scaleDownDelay, must not block the next start: finish it.
        existing = await FinishPendingCleanupAsync(existing, ct).ConfigureAwait(false);
        switch (await StartRerun.DecideAsync(spec, runtime, existing, request.Replace, ct).ConfigureAwait(false))
        {
            case RerunDecision.Attach:
                _options.Observer.OnEvent(new WarningEvent(Now, spec.Namespace, spec.Name,
                    $"rollout {spec.Name} of the same version is already {existing!.Status.Phase}: attaching to it (its recorded spec applies)"));
                return wait ? await WaitAsync(spec.Namespace, spec.Name, null, throughPauses: false, ct).ConfigureAwait(false) : await GetAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            case RerunDecision.AlreadyAtVersion:
                return StartRerun.AlreadyAtVersion(spec, existing, Now);
            case RerunDecision.ReplaceRunning:
                // The new version's canary takes the same name: the old one must be gone first.
                await AbortAsync(spec.Namespace, spec.Name, waitForCleanup: true, ct).ConfigureAwait(false);
                break;
        }
        // Everything start needs is checked with reads only; a failed preflight leaves no trace in the cluster.
        await _preflight.RunOrThrowAsync(spec, runtime, ct).ConfigureAwait(false);
        var transaction = new StartTransaction(_api, _store, _driver, _options.Clock, _options.Driver,
            (n, rollout, c) => _driver.AcquireLeaseAsync(n, rollout, c, yaml), lease => _driver.ReleaseLeaseAsync(lease, ct));
        // Read before the transaction takes the Lease, which nothing renews while the metrics store answers.
        var scrape = wait ? await _driver.ReadScrapeIntervalAsync(spec, ct).ConfigureAwait(false) : null;
        await using var notifier = await _driver.Notifications.OpenAsync(spec, _options.Observer, ct).ConfigureAwait(false);
        var started = await transaction.RunAsync(spec, yaml, runtime, wait, () =>
        {
            notifier.OnEvent(new RolloutStartedEvent(Now, spec.Namespace, spec.Name, spec.Steps.Count, spec.MeshProvider));
            WarnAboutPlan(spec);
        }, ct, scrape).ConfigureAwait(false);
        return RolloutResultBuilder.From(await notifier.CloseAsync(started, _store).ConfigureAwait(false));
    }

    /// <summary>
    /// Drives an ended rollout's unfinished clean-up to its end under its Lease (waiting what is left of scaleDownDelay,
    /// or for a live driver that is finishing it), then removes whatever else carries its marks. Anything else is returned as it is.
    /// </summary>
    private async Task<StoredRollout?> FinishPendingCleanupAsync(StoredRollout? existing, CancellationToken ct)
    {
        if (existing is null || !existing.Status.Phase.IsTerminal() || existing.Status.CleanupDone) return existing;
        // A start that waits minutes for an old canary's scaleDownDelay says why and until when (the wait itself is
        // shown as progress); not a warning: nothing is wrong, and -WarningAction Stop must not stop a start for it.
        var until = existing.Status.CanaryRemovalDueAt is { } due && due > Now ? $", waiting until {due:u} (scaleDownDelay) to remove its canary" : "";
        _options.Observer.OnEvent(new VerboseEvent(Now, existing.Namespace, existing.Name,
            $"rollout {existing.Name} ended {existing.Status.Phase} with its clean-up unfinished: finishing it first{until}"));
        var done = await _driver.DriveAsync(new DriveRequest(existing.Namespace, existing.Name) { WatchWhileLocked = true }, ct).ConfigureAwait(false);
        await new RolloutCleanup(_api, done.Namespace, done.Name, RolloutFootprint.For(done.ParseSpec())).DeleteOwnedAsync(ct).ConfigureAwait(false);
        return done;
    }

    public async Task<RolloutResult> GetAsync(string? ns, string name, CancellationToken ct = default) =>
        await WithDriverAsync(await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    public async Task<IReadOnlyList<RolloutResult>> ListAsync(string? ns, CancellationToken ct = default)
    {
        var results = new List<RolloutResult>();
        foreach (var stored in await _store.ListAsync(ns == "*" ? null : ns ?? DefaultNamespace, ct).ConfigureAwait(false))
            results.Add(await WithDriverAsync(stored, ct).ConfigureAwait(false));
        return results;
    }

    /// <summary>The result plus who drives it: a rollout nobody drives does not move, and status must say so.</summary>
    private async Task<RolloutResult> WithDriverAsync(StoredRollout stored, CancellationToken ct)
    {
        var spec = stored.ParseSpec();
        return RolloutResultBuilder.From(stored) with
        {
            Driving = await DriverStatus.ReadAsync(_api, _options.Clock, stored, ct).ConfigureAwait(false),
            // Without a mesh the real share is a pod ratio that replicas changing under the split move: show it beside the weight.
            Effective = await EffectiveShare.ReadAsync(spec, stored.Status.Phase, _runtimes.Create(spec).Router, ct).ConfigureAwait(false),
        };
    }

    public Task<RolloutResult> WaitAsync(string? ns, string name, TimeSpan? timeout, CancellationToken ct = default) =>
        WaitAsync(ns, name, timeout, throughPauses: true, ct);

    /// <summary>
    /// Wait keeps judging a rollout paused by a person or by drift (issue #26 item 3); start's attach to a rollout already
    /// running returns at a pause, as start itself does.
    /// </summary>
    public async Task<RolloutResult> WaitAsync(string? ns, string name, TimeSpan? timeout, bool throughPauses, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        using var timeoutCts = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan, _options.Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        try
        {
            return RolloutResultBuilder.From(await _driver.DriveAsync(new DriveRequest(ns, name) { WatchWhileLocked = true, ThroughPauses = throughPauses }, linked.Token)
                .ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return await GetAsync(ns, name, ct).ConfigureAwait(false) with { TimedOut = true };
        }
    }

    public async Task<RolloutResult> PauseAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.UpdateAsync(ns ?? DefaultNamespace, name, s =>
        {
            if (s.Phase.IsTerminal()) throw NotInPhase(name, s.Phase, "paused");
            return s.Phase == RolloutPhase.Paused ? null : s.Paused(PauseReason.Manual, "paused by " + _options.Driver)
                .WithHistory(Entry("pause", "paused manually"));
        }, _options.Clock, ct).ConfigureAwait(false);
        stored = await NotifyAsync(stored, new PhaseChangedEvent(Now, stored.Namespace, stored.Name, stored.Status.Phase, stored.Status.PauseReason, stored.Status.Message), ct)
            .ConfigureAwait(false);
        return RolloutResultBuilder.From(stored);
    }

    public async Task<RolloutResult> ResumeAsync(string? ns, string name, bool wait, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var before = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        // Resume of an ended rollout whose clean-up is pending is the next comer that finishes it (issue #26 item 8).
        if (before.Status.Phase.IsTerminal() && !before.Status.CleanupDone)
            return RolloutResultBuilder.From((await FinishPendingCleanupAsync(before, ct).ConfigureAwait(false))!);
        if (before.Status.Phase.IsTerminal()) throw NotInPhase(name, before.Status.Phase, "resumed");
        var spec = before.ParseSpec();
        if (ApprovalGateAt(spec, before.Status) is { } gateStep)
            throw new KubesteadException("ApprovalRequired", KubesteadErrorKind.InvalidState,
                $"rollout {name} waits at step {gateStep + 1}, an approval gate: approve it (kubestead approve {name} -n {ns}, Approve-KubesteadRollout) instead of resuming it", name);
        var runtime = _runtimes.Create(spec);
        // A stable Deployment restored after it was deleted is checked as a changed one: still missing refuses the resume
        // (nothing written); back with another template rebuilds the canary from it.
        if (before.Status is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.Drift or PauseReason.StableMissing, StableTemplate: { } recorded }
            && await runtime.Workload.StableChangesSinceAsync(recorded, ct).ConfigureAwait(false) is { Count: > 0 } changes)
        {
            var restarted = await _executor.RestartFromChangedStableAsync(before, runtime, changes, ct).ConfigureAwait(false);
            return RolloutResultBuilder.From(wait ? await _driver.DriveAsync(restarted, ct).ConfigureAwait(false) : restarted);
        }
        if (before.Status is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.Drift })
        {
            // Resuming after drift means Kubestead's weights win again, on the objects it added (re-created if they were removed).
            await _executor.RepairAddedPartsAsync(before, runtime, ct).ConfigureAwait(false);
            var split = await runtime.Router.SetCanaryWeightAsync(before.Status.CanaryWeight, ct).ConfigureAwait(false);
            _options.Observer.OnEvent(new WeightAppliedEvent(Now, ns, name, split.StablePercent, split.CanaryPercent, split.Source));
        }
        var restored = await _executor.RestoreWeightAfterPauseAsync(before, runtime, ct).ConfigureAwait(false);
        var stored = await _store.UpdateAsync(ns, name, s =>
        {
            if (s.Phase != RolloutPhase.Paused) return null;
            // A pause during a promotion resumes the promotion: the steps it skipped stay skipped.
            var resumed = s with
            {
                Phase = s.PausedFrom ?? RolloutPhase.Progressing, PausedFrom = null, PauseReason = null, Message = "resumed by " + _options.Driver,
                ConsecutiveMetricErrors = 0, InconclusiveWindows = 0,
            };
            if (restored is not null)
                resumed = resumed with { CanaryWeight = restored.CanaryPercent, LastWritten = restored, WeightBeforePause = null };
            var plan = RuntimeFactory.ToPlan(spec);
            if (s.PauseReason == PauseReason.Manual && s.StepIndex < plan.Steps.Count && plan.Steps[s.StepIndex] is PausePlanStep { Duration: null })
                resumed = resumed with { StepIndex = s.StepIndex + 1, StepStartedAt = null };
            else if (s.PauseReason is PauseReason.InsufficientData or PauseReason.MetricErrors)
                resumed = resumed with { StepStartedAt = null };
            return resumed.WithHistory(Entry("resume", $"resumed (was paused: {s.PauseReason})"));
        }, _options.Clock, ct).ConfigureAwait(false);
        _options.Observer.OnEvent(new PhaseChangedEvent(Now, ns, name, stored.Status.Phase, null, stored.Status.Message));
        return RolloutResultBuilder.From(wait ? await _driver.DriveAsync(stored, ct).ConfigureAwait(false) : stored);
    }

    /// <summary>The index of the unapproved approval step the rollout stands at, or null.</summary>
    private static int? ApprovalGateAt(RolloutSpec spec, RolloutStatus s) =>
        s.StepIndex < spec.Steps.Count && spec.Steps[s.StepIndex] is ApprovalStepSpec && s.ApprovedStep != s.StepIndex ? s.StepIndex : null;

    /// <summary>
    /// Passes the approval gate the rollout waits at, recording who approved it and when, and drives on when asked. A
    /// rollout anywhere else is refused, naming where it is: an approval never applies to a later gate.
    /// </summary>
    public async Task<RolloutResult> ApproveAsync(string? ns, string name, string? approver, bool wait, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var who = string.IsNullOrWhiteSpace(approver) ? _options.Driver.ToString() : approver.Trim();
        var spec = (await _store.LoadAsync(ns, name, ct).ConfigureAwait(false)).ParseSpec();
        var stored = await _store.UpdateAsync(ns, name, s =>
        {
            if (s.Phase.IsTerminal()) throw NotInPhase(name, s.Phase, "approved");
            if (ApprovalGateAt(spec, s) is not { } gate)
                throw new KubesteadException("NotAtApprovalGate", KubesteadErrorKind.InvalidState,
                    s.StepIndex < spec.Steps.Count && spec.Steps[s.StepIndex] is ApprovalStepSpec
                        ? $"rollout {name}: step {s.StepIndex + 1} is already approved"
                        : $"rollout {name} is not at an approval step (it is at step {s.StepIndex + 1} of {spec.Steps.Count}, {s.Phase}): nothing to approve", name);
            return (s with { Phase = s.Phase == RolloutPhase.Paused ? RolloutPhase.Progressing : s.Phase, PauseReason = null, PausedFrom = null, ApprovedStep = gate, Message = $"approved by {who}" })
                .WithHistory(Entry("approve", $"step {gate + 1} approved by {who}"));
        }, _options.Clock, ct).ConfigureAwait(false);
        stored = await NotifyAsync(stored, new PhaseChangedEvent(Now, ns, name, stored.Status.Phase, null, stored.Status.Message), ct).ConfigureAwait(false);
        return RolloutResultBuilder.From(wait ? await _driver.DriveAsync(stored, ct).ConfigureAwait(false) : stored);
    }

    public Task<RolloutResult> AbortAsync(string? ns, string name, CancellationToken ct = default) => AbortAsync(ns, name, waitForCleanup: false, ct);

    public Task<RolloutResult> AbortAsync(string? ns, string name, bool waitForCleanup, CancellationToken ct = default) =>
        AbortAsync(ns, name, waitForCleanup, specFile: null, ct);

    /// <summary>
    /// Traffic goes to stable at once. A canary kept for scaleDownDelay is removed here only with
    /// <paramref name="waitForCleanup"/>; otherwise the abort returns with the clean-up pending and its due time recorded,
    /// and whoever comes next finishes it (issue #26 item 8; docs/design-notes.md). A lost state is re-created from the
    /// Lease's spec copy, else from <paramref name="specFile"/> (issue #26 item 9).
    /// </summary>
    public async Task<RolloutResult> AbortAsync(string? ns, string name, bool waitForCleanup, SpecFile? specFile, CancellationToken ct = default)
    {
        // An abort must work even while another process drives (or has crashed holding) the lease: it writes the
        // state first, so that driver stops at its next step, then routes all traffic to stable.
        // A state deleted mid-rollout is re-created (as Aborted) from the spec copy on the Lease (issue #26 item 9).
        var stored = await _store.TryLoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false)
                     ?? await LostStateRecovery.RecreateAsync(_api, _options.Clock, _options.Driver, ns ?? DefaultNamespace, name, ct, specFile).ConfigureAwait(false);
        var spec = stored.ParseSpec();
        var cleanup = new RolloutCleanup(_api, stored.Namespace, stored.Name, RolloutFootprint.For(spec));
        await using var notifier = await _driver.Notifications.OpenAsync(spec, _options.Observer, ct).ConfigureAwait(false);
        var executor = _driver.ExecutorReportingTo(notifier);
        if (!(stored.Status.Phase.IsTerminal() && stored.Status.CleanupDone))
        {
            var runtime = _runtimes.Create(spec);
            try
            {
                stored = stored.Status.Phase.IsTerminal()
                    ? await executor.FinishAbortAsync(stored, runtime, deferCanaryRemoval: true, ct).ConfigureAwait(false)
                    : await executor.AbortAsync(stored, runtime, "aborted by " + _options.Driver, asFailure: false, deferCanaryRemoval: true, ct).ConfigureAwait(false);
                // Asked to wait: finish like any next comer would, under the rollout's Lease (a live driver finishing it is watched).
                if (waitForCleanup && !stored.Status.CleanupDone)
                    stored = await _driver.DriveAsync(new DriveRequest(stored.Namespace, stored.Name) { WatchWhileLocked = true }, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubesteadException or KubernetesApiException && !ct.IsCancellationRequested)
            {
                throw await IncompleteAsync(cleanup, stored, e, ct).ConfigureAwait(false);
            }
        }
        if (!stored.Status.CleanupDone)
        {
            // The canary is kept for scaleDownDelay and carries the rollout's marks: what else is left waits for the finisher.
            _options.Observer.OnEvent(new VerboseEvent(Now, stored.Namespace, stored.Name,
                $"clean-up pending: the canary is removed after {stored.Status.CanaryRemovalDueAt:u} by the next start, resume, wait, abort or controller"));
            return RolloutResultBuilder.From(await notifier.CloseAsync(stored, _store).ConfigureAwait(false));
        }
        try
        {
            // Whatever the rollout created under other names (an earlier spec, a start that failed) is found by its marks.
            await cleanup.DeleteOwnedAsync(ct).ConfigureAwait(false);
            if (await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false) is { Count: > 0 } left)
                throw new RolloutCleanupIncompleteException(stored.Namespace, stored.Name, left, null);
            await RolloutLeaseCleanup.DeleteUnlessHeldByAnotherAsync(_api, stored.Namespace, stored.Name, _options.Driver, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (!ct.IsCancellationRequested)
        {
            throw await IncompleteAsync(cleanup, stored, e, ct).ConfigureAwait(false);
        }
        return RolloutResultBuilder.From(await notifier.CloseAsync(stored, _store).ConfigureAwait(false));
    }

    /// <summary>Reports a one-shot command's event to the host and to the sinks of the rollout's spec.</summary>
    private async Task<StoredRollout> NotifyAsync(StoredRollout stored, RolloutEvent e, CancellationToken ct)
    {
        await using var notifier = await _driver.Notifications.OpenAsync(stored.ParseSpec(), _options.Observer, ct).ConfigureAwait(false);
        notifier.OnEvent(e);
        return await notifier.CloseAsync(stored, _store).ConfigureAwait(false);
    }

    /// <summary>An abort that could not finish names exactly what is left, so the user knows what a re-run (or a person) must remove.</summary>
    private static async Task<RolloutCleanupIncompleteException> IncompleteAsync(RolloutCleanup cleanup, StoredRollout stored, Exception cause, CancellationToken ct)
    {
        IReadOnlyList<string> left;
        try
        {
            left = await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e)
        {
            left = [$"unknown: listing the rollout's objects failed too ({e.Message})"];
        }
        return new RolloutCleanupIncompleteException(stored.Namespace, stored.Name, left, cause);
    }

    public async Task<RolloutResult> PromoteAsync(string? ns, string name, bool wait, CancellationToken ct = default)
    {
        var stored = await _store.UpdateAsync(ns ?? DefaultNamespace, name, s =>
        {
            if (s.Phase.IsTerminal()) throw NotInPhase(name, s.Phase, "promoted");
            return s.Phase == RolloutPhase.Promoting ? null : (s with { Phase = RolloutPhase.Promoting, PauseReason = null, PausedFrom = null, Message = "promotion requested by " + _options.Driver })
                .WithHistory(Entry("promote", "promotion requested; remaining steps skipped"));
        }, _options.Clock, ct).ConfigureAwait(false);
        return RolloutResultBuilder.From(wait ? await _driver.DriveAsync(stored, ct).ConfigureAwait(false) : stored);
    }

    public async Task<WeightReport> SetWeightAsync(string? ns, string name, double canaryWeight, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        if (stored.Status.Phase.IsTerminal()) throw NotInPhase(name, stored.Status.Phase, "re-weighted");
        var lease = await _driver.AcquireLeaseAsync(ns, name, ct, stored.SpecYaml).ConfigureAwait(false);
        try
        {
            // Every write checks the Lease first, as a drive's do (issue #26 item 4): the canary's readiness wait can
            // outlast the Lease, and a driver that took it over meanwhile must not have its route written over.
            var guarded = new LeaseGuardedApi(_api, lease);
            var runtime = _runtimes.For(guarded, _options.Clock).Create(stored.ParseSpec());
            if (runtime.MeshProvider != MeshProviders.None) await runtime.Workload.ScaleForWeightAsync(canaryWeight, ct).ConfigureAwait(false);
            var split = await runtime.Router.SetCanaryWeightAsync(canaryWeight, ct).ConfigureAwait(false);
            await new RolloutStateStore(guarded).UpdateAsync(ns, name, s => (s with
            {
                CanaryWeight = split.CanaryPercent,
                LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, Now, _options.Driver.ToString()),
            }).WithHistory(Entry("setWeight", $"weight set by hand to {split.CanaryPercent:0.###}%", split.CanaryPercent)), _options.Clock, ct).ConfigureAwait(false);
            await NotifyAsync(stored, new WeightAppliedEvent(Now, ns, name, split.StablePercent, split.CanaryPercent, split.Source), ct).ConfigureAwait(false);
            return RolloutResultBuilder.WeightReport(stored, runtime.MeshProvider, split);
        }
        finally
        {
            await _driver.ReleaseLeaseAsync(lease, ct).ConfigureAwait(false);
        }
    }

    public async Task<WeightReport> GetWeightAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(stored.ParseSpec());
        return RolloutResultBuilder.WeightReport(stored, runtime.MeshProvider, await runtime.Router.GetSplitAsync(ct).ConfigureAwait(false));
    }

    public async Task<RolloutResult> SetHeaderRouteAsync(string? ns, string name, HeaderRouteRequest route, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(stored.ParseSpec());
        CheckCookie(route);
        await runtime.Router.SetHeaderRouteAsync(RolloutExecutor.ToHeaderRoute(route), ct).ConfigureAwait(false);
        // Routers that route by a header the client chooses (Linkerd 1.x's l5d-dtab) write nothing and say what to send.
        var instructions = runtime.Router as IHeaderRouteInstructions;
        var hint = instructions?.HeaderRouteInstructions(RolloutExecutor.ToHeaderRoute(route));
        if (instructions?.IgnoredMatch(RolloutExecutor.ToHeaderRoute(route)) is { } ignored) _options.Observer.OnEvent(new WarningEvent(Now, ns, name, ignored));
        var message = $"header route {route.RouteName} ({route.Describe()}) set by hand" + (hint is null ? "" : $"; {hint}");
        var result = RolloutResultBuilder.From(await _store.UpdateAsync(ns, name, s => (s with { HeaderRoutes = s.HeaderRoutes.Append(route.RouteName).Distinct().ToList(), Message = hint ?? s.Message })
            .WithHistory(Entry("headerRoute", message)), _options.Clock, ct).ConfigureAwait(false));
        return instructions?.ClientHeader(RolloutExecutor.ToHeaderRoute(route)) is { } header
            ? result with { RequestHeaders = new Dictionary<string, string> { [header.Key] = header.Value } }
            : result;
    }

    internal static void CheckCookie(HeaderRouteRequest route)
    {
        if (route.Cookie is { } cookie && CookieMatch.Problem(cookie.Name, cookie.Value, cookie.IsRegex) is { } problem)
            throw new TrafficRoutingException("InvalidCookieMatch", $"header route '{route.RouteName}': {problem}");
    }

    public async Task<RolloutResult> RemoveHeaderRouteAsync(string? ns, string name, string routeName, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(stored.ParseSpec());
        await runtime.Router.RemoveHeaderRouteAsync(routeName, ct).ConfigureAwait(false);
        return RolloutResultBuilder.From(await _store.UpdateAsync(ns, name, s => (s with { HeaderRoutes = s.HeaderRoutes.Where(r => r != routeName).ToList() })
            .WithHistory(Entry("headerRoute", $"header route {routeName} removed by hand")), _options.Clock, ct).ConfigureAwait(false));
    }

    public async Task<AnalysisReport> GetAnalysisAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        return new AnalysisReport(stored.Name, stored.Namespace, stored.Status.UpdatedAt, stored.Status.LastVerdicts)
        {
            BackgroundVerdicts = stored.Status.BackgroundVerdicts,
        };
    }

    public async Task<SpecTestReport> TestAsync(StartRequest request, bool checkCluster, CancellationToken ct = default)
    {
        var checks = new List<SpecCheck>();
        RolloutSpec spec;
        try
        {
            spec = (await _reader.ReadAsync(request, ct).ConfigureAwait(false)).Spec;
            checks.Add(new SpecCheck("spec", CheckOutcome.Passed, "the spec is valid"));
        }
        catch (RolloutSpecInvalidException e)
        {
            checks.AddRange(e.Problems.Select(p => new SpecCheck("spec", CheckOutcome.Failed, p.ToString(), p.File)));
            return new SpecTestReport(null, null, false, checks);
        }
        foreach (var warning in PlanWarnings.For(spec)) checks.Add(new SpecCheck("plan", CheckOutcome.Warning, warning));
        if (checkCluster)
        {
            checks.AddRange((await _preflight.RunAsync(spec, _runtimes.Create(spec), ct).ConfigureAwait(false)).Checks);
            checks.AddRange(await MetricsPreflight.RunAsync(spec, _metrics, Now, ct).ConfigureAwait(false));
        }
        return new SpecTestReport(spec.Name, spec.Namespace, checks.All(c => c.Outcome != CheckOutcome.Failed), checks);
    }

    public Task<string> NewSpecAsync(string? ns, string service, string? meshProvider, CancellationToken ct = default) =>
        SpecScaffolder.ScaffoldAsync(_api, ns ?? DefaultNamespace, service, meshProvider, ct);

    public async Task<GitOpsConfigResult> GetGitOpsConfigAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        var spec = stored.ParseSpec();
        return await GitOpsConfigBuilder.BuildAsync(name, stored, spec, _runtimes.Create(spec).Router, ct).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<PlannedChange>> PlanAsync(PlannedOperation operation, CancellationToken ct = default) => _dryRun.PlanAsync(operation, ct);

    public Task FlushEventsAsync(CancellationToken ct = default) => _events?.FlushAsync(ct) ?? Task.CompletedTask;

    /// <summary>The Kubernetes Events this service could not write so far (none when it records no Events).</summary>
    public Kubestead.Events.EventDeliveryCounts EventDelivery =>
        _events is { } events ? new Kubestead.Events.EventDeliveryCounts(events.Failures, events.Dropped) : Kubestead.Events.EventDeliveryCounts.None;

    public async ValueTask DisposeAsync()
    {
        // Events still queued go out before the client closes.
        if (_events is not null) await _events.DisposeAsync().ConfigureAwait(false);
        if (_api is IAsyncDisposable api) await api.DisposeAsync().ConfigureAwait(false);
        // The metrics' TLS clients hold connection pools (and sockets) until disposed.
        _ownedMetrics?.Dispose();
    }

    private void WarnAboutPlan(RolloutSpec spec)
    {
        foreach (var w in PlanWarnings.For(spec)) _options.Observer.OnEvent(new WarningEvent(Now, spec.Namespace, spec.Name, w));
    }

    private RolloutHistoryEntry Entry(string kind, string message, double? weight = null) =>
        new(Now, _options.Driver.ToString(), kind, message, weight);

    internal static RolloutStateException NotInPhase(string name, RolloutPhase phase, string verb) =>
        new("RolloutNotActive", $"Rollout '{name}' is {phase} and cannot be {verb}; start a new rollout instead", $"configmaps/{RolloutStateStore.ObjectName(name)}");

}
