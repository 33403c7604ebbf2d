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

/// <summary>The engine behind the cmdlets and the CLI: each member is one user-level operation.</summary>
public sealed class KubesteadService : IKubesteadService
{
    private readonly IKubernetesApi _api;
    private readonly KubesteadServiceOptions _options;
    private readonly RolloutStateStore _store;
    private readonly RolloutExecutor _executor;
    private readonly RuntimeFactory _runtimes;
    private readonly StartPreflight _preflight;

    public KubesteadService(IKubernetesApi api, KubesteadServiceOptions? options = null)
    {
        // Every request the engine makes goes through the wording layer, so no error reaches a user as a bare status code;
        // a value a CRD schema refuses becomes an invalid-input error naming the field.
        _api = api as DescribedKubernetesApi ?? new DescribedKubernetesApi(new SchemaRejectionTranslator(api));
        api = _api;
        _options = options ?? new KubesteadServiceOptions();
        _store = new RolloutStateStore(api);
        _executor = new RolloutExecutor(_store, _options.Clock, _options.Observer, _options.Driver) { PollInterval = _options.PollInterval };
        _runtimes = new RuntimeFactory(api, _options.Clock, _options.Metrics ?? MetricProviderSet.Default(api).Open,
            _options.NamerdHandler is { } namerd ? new HttpClient(namerd, disposeHandler: false) : null);
        _preflight = new StartPreflight(api, _options.Clock, _options.Driver);
    }

    public string DefaultNamespace => _api.DefaultNamespace;

    private DateTimeOffset Now => _options.Clock.GetUtcNow();

    public async Task<RolloutResult> StartAsync(StartRequest request, bool wait, CancellationToken ct = default)
    {
        var (spec, yaml) = await ParseRequestAsync(request, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(spec);
        // A CI job run again: the same version attaches, another version is refused (or replaced on request), a canary
        // stable already runs writes nothing. Decided before the preflight, which refuses an unfinished rollout.
        var existing = await _store.TryLoadAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
        switch (await StartRerun.DecideAsync(spec, runtime, existing, request.Replace, ct).ConfigureAwait(false))
        {
            case RerunDecision.Attach:
                _options.Observer.OnEvent(new WarningEvent(Now, spec.Namespace, spec.Name,
                    $"rollout {spec.Name} of the same version is already {existing!.Status.Phase}: attaching to it (its recorded spec applies)"));
                return wait ? await WaitAsync(spec.Namespace, spec.Name, null, ct).ConfigureAwait(false) : await GetAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
            case RerunDecision.AlreadyAtVersion:
                return StartRerun.AlreadyAtVersion(spec, existing, Now);
            case RerunDecision.ReplaceRunning:
                await AbortAsync(spec.Namespace, spec.Name, ct).ConfigureAwait(false);
                break;
        }
        // Everything start needs is checked with reads only; a failed preflight leaves no trace in the cluster.
        await PreflightOrThrowAsync(spec, runtime, ct).ConfigureAwait(false);
        var transaction = new StartTransaction(_api, _store, _executor, _options.Clock, _options.Driver, AcquireAsync, lease => ReleaseAsync(lease, ct));
        return ToResult(await transaction.RunAsync(spec, yaml, runtime, wait, () => WarnAboutPlan(spec), ct).ConfigureAwait(false));
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
        var spec = ParseStored(stored);
        return ToResult(stored) with
        {
            Driving = await DriverStatus.ReadAsync(_api, _options.Clock, stored, ct).ConfigureAwait(false),
            // Without a mesh the real share is a pod ratio that replicas changing under the split move: show it beside the weight.
            Effective = await EffectiveShare.ReadAsync(spec, stored.Status.Phase, _runtimes.Create(spec).Router, ct).ConfigureAwait(false),
        };
    }

    public async Task<RolloutResult> WaitAsync(string? ns, string name, TimeSpan? timeout, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        using var timeoutCts = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan, _options.Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        try
        {
            while (true)
            {
                var stored = await _store.LoadAsync(ns, name, linked.Token).ConfigureAwait(false);
                if (stored.Status.Phase.IsTerminal() && stored.Status.CleanupDone || stored.Status.Phase == RolloutPhase.Paused) return ToResult(stored);
                try
                {
                    return await DriveAsync(stored, linked.Token).ConfigureAwait(false);
                }
                catch (RolloutLockedException)
                {
                    // Another process drives it: watch its progress instead.
                    await Task.Delay(_options.PollInterval, _options.Clock, linked.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return await GetAsync(ns, name, ct).ConfigureAwait(false) with { TimedOut = true };
        }
    }

    public async Task<RolloutResult> PauseAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await UpdateStatusAsync(ns ?? DefaultNamespace, name, s =>
        {
            if (s.Phase.IsTerminal()) throw NotInPhase(name, s.Phase, "paused");
            return s.Phase == RolloutPhase.Paused ? null : (s with { Phase = RolloutPhase.Paused, PauseReason = PauseReason.Manual, Message = "paused by " + _options.Driver })
                .WithHistory(Entry("pause", "paused manually"));
        }, ct).ConfigureAwait(false);
        _options.Observer.OnEvent(new PhaseChangedEvent(Now, stored.Namespace, stored.Name, stored.Status.Phase, stored.Status.PauseReason, stored.Status.Message));
        return ToResult(stored);
    }

    public async Task<RolloutResult> ResumeAsync(string? ns, string name, bool wait, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var before = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        if (before.Status.Phase.IsTerminal()) throw NotInPhase(name, before.Status.Phase, "resumed");
        var spec = ParseStored(before);
        var runtime = _runtimes.Create(spec);
        if (before.Status is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.Drift, StableTemplate: { } recorded }
            && await runtime.Workload.StableChangesSinceAsync(recorded, ct).ConfigureAwait(false) is { Count: > 0 } changes)
        {
            var restarted = await _executor.RestartFromChangedStableAsync(before, runtime, changes, ct).ConfigureAwait(false);
            return wait ? await DriveAsync(restarted, ct).ConfigureAwait(false) : ToResult(restarted);
        }
        if (before.Status is { Phase: RolloutPhase.Paused, PauseReason: PauseReason.Drift })
        {
            // Resuming after drift means Kubestead's weights win again.
            var split = await runtime.Router.SetCanaryWeightAsync(before.Status.CanaryWeight, ct).ConfigureAwait(false);
            _options.Observer.OnEvent(new WeightAppliedEvent(Now, ns, name, split.StablePercent, split.CanaryPercent, split.Source));
        }
        var restored = await _executor.RestoreWeightAfterPauseAsync(before, runtime, ct).ConfigureAwait(false);
        var stored = await UpdateStatusAsync(ns, name, s =>
        {
            if (s.Phase != RolloutPhase.Paused) return null;
            var resumed = s with { Phase = RolloutPhase.Progressing, PauseReason = null, Message = "resumed by " + _options.Driver, ConsecutiveMetricErrors = 0, InconclusiveWindows = 0 };
            if (restored is not null)
                resumed = resumed with { CanaryWeight = restored.CanaryPercent, LastWritten = restored, WeightBeforePause = null };
            var plan = RuntimeFactory.ToPlan(spec);
            if (s.PauseReason == PauseReason.Manual && s.StepIndex < plan.Steps.Count && plan.Steps[s.StepIndex] is PausePlanStep { Duration: null })
                resumed = resumed with { StepIndex = s.StepIndex + 1, StepStartedAt = null };
            else if (s.PauseReason is PauseReason.InsufficientData or PauseReason.MetricErrors)
                resumed = resumed with { StepStartedAt = null };
            return resumed.WithHistory(Entry("resume", $"resumed (was paused: {s.PauseReason})"));
        }, ct).ConfigureAwait(false);
        _options.Observer.OnEvent(new PhaseChangedEvent(Now, ns, name, stored.Status.Phase, null, stored.Status.Message));
        return wait ? await DriveAsync(stored, ct).ConfigureAwait(false) : ToResult(stored);
    }

    public async Task<RolloutResult> AbortAsync(string? ns, string name, CancellationToken ct = default)
    {
        // An abort must work even while another process drives (or has crashed holding) the lease: it writes the
        // state first, so that driver stops at its next step, then routes all traffic to stable.
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        var spec = ParseStored(stored);
        var cleanup = new RolloutCleanup(_api, stored.Namespace, stored.Name, RolloutFootprint.For(spec));
        if (!(stored.Status.Phase.IsTerminal() && stored.Status.CleanupDone))
        {
            var runtime = _runtimes.Create(spec);
            try
            {
                stored = stored.Status.Phase.IsTerminal()
                    ? await _executor.FinishAbortAsync(stored, runtime, ct).ConfigureAwait(false)
                    : await _executor.AbortAsync(stored, runtime, "aborted by " + _options.Driver, asFailure: false, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubesteadException or KubernetesApiException && !ct.IsCancellationRequested)
            {
                throw await IncompleteAsync(cleanup, stored, e, ct).ConfigureAwait(false);
            }
        }
        try
        {
            // Whatever the rollout created under other names (an earlier spec, a start that failed) is found by its marks.
            await cleanup.DeleteOwnedAsync(ct).ConfigureAwait(false);
            if (await cleanup.FindLeftoversAsync(ct).ConfigureAwait(false) is { Count: > 0 } left)
                throw new RolloutCleanupIncompleteException(stored.Namespace, stored.Name, left, null);
            await RolloutLeaseCleanup.DeleteUnlessLiveAsync(_api, _options.Clock, stored.Namespace, stored.Name, _options.Driver, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (!ct.IsCancellationRequested)
        {
            throw await IncompleteAsync(cleanup, stored, e, ct).ConfigureAwait(false);
        }
        return ToResult(stored);
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
        var stored = await UpdateStatusAsync(ns ?? DefaultNamespace, name, s =>
        {
            if (s.Phase.IsTerminal()) throw NotInPhase(name, s.Phase, "promoted");
            return s.Phase == RolloutPhase.Promoting ? null : (s with { Phase = RolloutPhase.Promoting, PauseReason = null, Message = "promotion requested by " + _options.Driver })
                .WithHistory(Entry("promote", "promotion requested; remaining steps skipped"));
        }, ct).ConfigureAwait(false);
        return wait ? await DriveAsync(stored, ct).ConfigureAwait(false) : ToResult(stored);
    }

    public async Task<WeightReport> SetWeightAsync(string? ns, string name, double canaryWeight, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        if (stored.Status.Phase.IsTerminal()) throw NotInPhase(name, stored.Status.Phase, "re-weighted");
        var runtime = _runtimes.Create(ParseStored(stored));
        var lease = await AcquireAsync(ns, name, ct).ConfigureAwait(false);
        try
        {
            if (runtime.MeshProvider != MeshProviders.None) await runtime.Workload.ScaleForWeightAsync(canaryWeight, ct).ConfigureAwait(false);
            var split = await runtime.Router.SetCanaryWeightAsync(canaryWeight, ct).ConfigureAwait(false);
            await UpdateStatusAsync(ns, name, s => (s with
            {
                CanaryWeight = split.CanaryPercent,
                LastWritten = new WrittenSplit(split.StablePercent, split.CanaryPercent, Now, _options.Driver.ToString()),
            }).WithHistory(Entry("setWeight", $"weight set by hand to {split.CanaryPercent:0.###}%", split.CanaryPercent)), ct).ConfigureAwait(false);
            _options.Observer.OnEvent(new WeightAppliedEvent(Now, ns, name, split.StablePercent, split.CanaryPercent, split.Source));
            return ToWeightReport(stored, runtime.MeshProvider, split);
        }
        finally
        {
            await ReleaseAsync(lease, ct).ConfigureAwait(false);
        }
    }

    public async Task<WeightReport> GetWeightAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(ParseStored(stored));
        return ToWeightReport(stored, runtime.MeshProvider, await runtime.Router.GetSplitAsync(ct).ConfigureAwait(false));
    }

    public async Task<RolloutResult> SetHeaderRouteAsync(string? ns, string name, HeaderRouteRequest route, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(ParseStored(stored));
        if (route.Cookie is { } cookie && CookieMatch.Problem(cookie.Name, cookie.Value, cookie.IsRegex) is { } problem)
            throw new TrafficRoutingException("InvalidCookieMatch", $"header route '{route.RouteName}': {problem}");
        await runtime.Router.SetHeaderRouteAsync(RolloutExecutor.ToHeaderRoute(route), ct).ConfigureAwait(false);
        // Routers that route by a header the client chooses (Linkerd 1.x's l5d-dtab) write nothing and say what to send.
        var instructions = runtime.Router as IHeaderRouteInstructions;
        var hint = instructions?.HeaderRouteInstructions(RolloutExecutor.ToHeaderRoute(route));
        var message = $"header route {route.RouteName} ({route.Describe()}) set by hand" + (hint is null ? "" : $"; {hint}");
        var result = ToResult(await UpdateStatusAsync(ns, name, s => (s with { HeaderRoutes = s.HeaderRoutes.Append(route.RouteName).Distinct().ToList(), Message = hint ?? s.Message })
            .WithHistory(Entry("headerRoute", message)), ct).ConfigureAwait(false));
        return instructions?.ClientHeader(RolloutExecutor.ToHeaderRoute(route)) is { } header
            ? result with { RequestHeaders = new Dictionary<string, string> { [header.Key] = header.Value } }
            : result;
    }

    public async Task<RolloutResult> RemoveHeaderRouteAsync(string? ns, string name, string routeName, CancellationToken ct = default)
    {
        ns ??= DefaultNamespace;
        var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
        var runtime = _runtimes.Create(ParseStored(stored));
        await runtime.Router.RemoveHeaderRouteAsync(routeName, ct).ConfigureAwait(false);
        return ToResult(await UpdateStatusAsync(ns, name, s => (s with { HeaderRoutes = s.HeaderRoutes.Where(r => r != routeName).ToList() })
            .WithHistory(Entry("headerRoute", $"header route {routeName} removed by hand")), ct).ConfigureAwait(false));
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
            spec = (await ParseRequestAsync(request, ct).ConfigureAwait(false)).Spec;
            checks.Add(new SpecCheck("spec", CheckOutcome.Passed, "the spec is valid"));
        }
        catch (RolloutSpecInvalidException e)
        {
            checks.AddRange(e.Problems.Select(p => new SpecCheck("spec", CheckOutcome.Failed, p.ToString(), p.File)));
            return new SpecTestReport(null, null, false, checks);
        }
        foreach (var warning in Planner(spec)) checks.Add(new SpecCheck("plan", CheckOutcome.Warning, warning));
        if (checkCluster)
            checks.AddRange((await _preflight.RunAsync(spec, _runtimes.Create(spec), ct).ConfigureAwait(false)).Checks);
        return new SpecTestReport(spec.Name, spec.Namespace, checks.All(c => c.Outcome != CheckOutcome.Failed), checks);
    }

    public Task<string> NewSpecAsync(string? ns, string service, string? meshProvider, CancellationToken ct = default) =>
        SpecScaffolder.ScaffoldAsync(_api, ns ?? DefaultNamespace, service, meshProvider, ct);

    public async Task<GitOpsConfigResult> GetGitOpsConfigAsync(string? ns, string name, CancellationToken ct = default)
    {
        var stored = await _store.LoadAsync(ns ?? DefaultNamespace, name, ct).ConfigureAwait(false);
        var spec = ParseStored(stored);
        var runtime = _runtimes.Create(spec);
        var deployment = GitOpsDeploymentSettings.Fields(spec, stored.Namespace);
        if (runtime.Router is IstioRouter istio)
        {
            var (argo, _, pointers) = await istio.GitOpsConfigAsync(ct).ConfigureAwait(false);
            var route = new GitOpsIgnoredFields("networking.istio.io", "VirtualService", spec.Istio!.VirtualService, stored.Namespace, pointers);
            List<GitOpsIgnoredFields> istioObjects = [route];
            if (spec.CreateBaseline && spec.Istio.DestinationRule is { } dr)
                istioObjects.Add(new GitOpsIgnoredFields("networking.istio.io", "DestinationRule", dr, stored.Namespace, ["/spec/subsets"]));
            if (deployment is not null) istioObjects.Add(deployment);
            return new GitOpsConfigResult(name, stored.Namespace, GitOpsDeploymentSettings.AddTo(argo, spec, stored.Namespace),
                GitOpsFluxSettings.Build(istioObjects, spec), pointers);
        }
        if (spec.MeshProvider is MeshProviders.Linkerd1 or MeshProviders.Nginx)
            return GitOpsOutsideGit.Build(name, stored.Namespace, spec, deployment);
        var (kind, group, objName, pointer) = spec.MeshProvider switch
        {
            MeshProviders.Linkerd => ("HTTPRoute", spec.Linkerd!.ApiGroup, spec.Linkerd.HttpRoute ?? $"{spec.Service}-kubestead", "/spec/rules"),
            MeshProviders.Smi => ("TrafficSplit", "split.smi-spec.io", spec.Smi!.TrafficSplit ?? spec.Service, "/spec/backends"),
            _ => ("Deployment", "apps", spec.StableDeployment, "/spec/replicas"),
        };
        var argoCd = $"ignoreDifferences:\n  - group: {group}\n    kind: {kind}\n    name: {objName}\n    namespace: {stored.Namespace}\n    jsonPointers:\n      - {pointer}\nsyncPolicy:\n  syncOptions:\n    - RespectIgnoreDifferences=true";
        var routing = new GitOpsIgnoredFields(group, kind, objName, stored.Namespace, [pointer]);
        IReadOnlyList<GitOpsIgnoredFields> objects = deployment is null ? [routing]
            : kind == "Deployment" ? [deployment] // no mesh: the routing object is the stable Deployment itself
            : [routing, deployment];
        return new GitOpsConfigResult(name, stored.Namespace, GitOpsDeploymentSettings.AddTo(argoCd, spec, stored.Namespace),
            GitOpsFluxSettings.Build(objects, spec), [pointer]);
    }

    public async Task<IReadOnlyList<PlannedChange>> PlanAsync(PlannedOperation operation, CancellationToken ct = default)
    {
        switch (operation)
        {
            case StartOperation start:
            {
                var (spec, _) = await ParseRequestAsync(start.Request, ct).ConfigureAwait(false);
                var runtime = _runtimes.Create(spec);
                var ns = spec.Namespace;
                var rollout = $"rollout {spec.Name} in namespace {ns}";
                // The plan follows start's own re-run decision: attach, nothing to do, replace, or a refusal (thrown).
                var running = await _store.TryLoadAsync(ns, spec.Name, ct).ConfigureAwait(false);
                switch (await StartRerun.DecideAsync(spec, runtime, running, start.Request.Replace, ct).ConfigureAwait(false))
                {
                    case RerunDecision.Attach:
                        return [new(rollout, "attach", $"the same version is already {running!.Status.Phase}: drive it on as Wait-KubesteadRollout does; start itself writes nothing", null)];
                    case RerunDecision.AlreadyAtVersion:
                        return [new(rollout, "none", $"already at this version: Deployment {spec.StableDeployment} runs the canary's version; nothing is written", null)];
                    case RerunDecision.ReplaceRunning:
                        return [new(rollout, "abort", $"the running rollout of another version ({running!.Status.Phase}): all traffic to stable, its objects removed", null),
                            new(rollout, "start", "then start this version (its writes are checked and listed by a dry run once the old one is gone)", null)];
                }
                await PreflightOrThrowAsync(spec, runtime, ct).ConfigureAwait(false);
                var changes = new List<PlannedChange>();
                // Every write start makes, including the ones that touch what an earlier rollout left.
                if (await _store.TryLoadAsync(ns, spec.Name, ct).ConfigureAwait(false) is { } previous)
                    changes.Add(new($"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {ns}", "delete",
                        $"the previous rollout's record and its history (phase {previous.Status.Phase}, started {previous.Status.StartedAt:u})", null));
                changes.Add(new($"configmaps/{RolloutStateStore.ObjectName(spec.Name)} in namespace {ns}", "create", "record the rollout's spec and status", null));
                var leaseExists = true;
                try
                {
                    await _api.GetAsync(ResourceType.Lease, ns, RolloutLease.ObjectName(spec.Name), ct).ConfigureAwait(false);
                }
                catch (KubernetesApiException e) when (e.IsNotFound)
                {
                    leaseExists = false;
                }
                changes.Add(new($"leases.coordination.k8s.io/{RolloutLease.ObjectName(spec.Name)} in namespace {ns}", leaseExists ? "update" : "create",
                    leaseExists ? "take over the expired lease of the previous driver, hold it while driving, release it at the end" : "hold the rollout for this driver, release it at the end", null));
                if (await runtime.Workload.BuildCanaryAsync(ct).ConfigureAwait(false) is { } canary)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.CanaryDeployment} in namespace {ns}", "create",
                        CanaryChangeText.Describe(spec.Canary, await runtime.Workload.DescribeCanaryChangeAsync(canary, ct).ConfigureAwait(false)),
                        canary.ToJsonString()));
                if (await runtime.Workload.BuildBaselineAsync(ct).ConfigureAwait(false) is { } baselineDeployment)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.BaselineDeployment} in namespace {ns}", "create",
                        $"the baseline: stable's pod template and image with {spec.VersionLabel}=baseline, sized like the canary and given the canary's share; removed at promotion and abort",
                        baselineDeployment.ToJsonString()));
                var baselineService = RuntimeFactory.BaselineServiceName(spec);
                var baselinePrepare = !spec.CreateBaseline ? "" : spec.MeshProvider switch
                {
                    MeshProviders.Istio => $"; add subset 'baseline' ({spec.VersionLabel}=baseline) to DestinationRule {spec.Istio!.DestinationRule} and a destination to it at weight 0 in the managed route",
                    MeshProviders.Linkerd => $"; create Service {baselineService} (the baseline pods) and add its backendRef at weight 0",
                    MeshProviders.Smi => $"; create Service {baselineService} (the baseline pods) and add its backend at weight 0",
                    _ => "; the Service spreads traffic over the baseline pods as well",
                };
                changes.Add(new PlannedChange($"{spec.MeshProvider} routing for service {spec.Service} in namespace {ns}", "prepare",
                    spec.MeshProvider switch
                    {
                        MeshProviders.Istio => "annotate the VirtualService with the rollout and the fields Kubestead owns",
                        MeshProviders.Linkerd => $"create Service {spec.Linkerd!.CanaryService} and the HTTPRoute (or add the canary backendRef) when absent",
                        MeshProviders.Smi => $"create Service {spec.Smi!.CanaryService} and the TrafficSplit (or add the canary backend) when absent",
                        MeshProviders.Nginx => $"create Service {spec.Nginx!.CanaryService} and the canary Ingress {spec.Nginx.CanaryIngress ?? spec.Nginx.Ingress + "-canary"} " +
                                               $"from Ingress {spec.Nginx.Ingress} at canary-weight 0 when absent (the stable Ingress is never written)",
                        MeshProviders.Linkerd1 => $"create Service {spec.Linkerd1!.CanaryService} when absent; append the dentry '{spec.Linkerd1.Prefix} => 100 * {spec.Linkerd1.StableDestination} & 0 * {spec.Linkerd1.CanaryDestination}' to the dtab '{spec.Linkerd1.DtabNamespace}' of namerd at {spec.Linkerd1.Namerd} when absent (compare-and-set)",
                        _ => "remember stable's replica count on the canary Deployment",
                    } + baselinePrepare, null));
                var stableReplicas = spec.CreateBaseline && spec.MeshProvider == MeshProviders.None
                    ? (await _api.GetAsync(ResourceType.Deployment, ns, spec.StableDeployment, ct).ConfigureAwait(false))["spec"]?["replicas"]?.GetValue<int>() ?? 1
                    : 0;
                foreach (var (step, i) in runtime.Plan.Steps.Select((s, i) => (s, i)))
                    changes.Add(new PlannedChange($"rollout {spec.Name}", "step", $"step {i + 1}: {step.Describe()}{StepWrite(spec, step)}" +
                        (spec.CreateBaseline && step is SetWeightPlanStep sw ? " " + BaselineStepText(spec, sw.Weight, stableReplicas) : ""), null));
                return changes;
            }
            case SetWeightOperation w:
            {
                var runtime = await RuntimeForAsync(w.Namespace, w.Name, ct).ConfigureAwait(false);
                return (await runtime.Router.PlanSetCanaryWeightAsync(w.Weight, ct).ConfigureAwait(false)).Select(ToChange).ToList();
            }
            case AbortOperation a:
            {
                var runtime = await RuntimeForAsync(a.Namespace, a.Name, ct).ConfigureAwait(false);
                var changes = (await runtime.Router.PlanSetCanaryWeightAsync(0, ct).ConfigureAwait(false)).Select(ToChange).ToList();
                changes.Insert(0, new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(a.Name)} in namespace {a.Namespace}", "patch", "record phase Aborted", null));
                changes.Add(new PlannedChange($"rollout {a.Name}", "cleanup", CleanupDescription(runtime), null));
                return changes;
            }
            case PromoteOperation p:
            {
                var runtime = await RuntimeForAsync(p.Namespace, p.Name, ct).ConfigureAwait(false);
                var changes = new List<PlannedChange>
                {
                    new($"configmaps/{RolloutStateStore.ObjectName(p.Name)} in namespace {p.Namespace}", "patch", "record phase Promoting", null),
                };
                if (runtime.Plan.Policies.Promotion == PromotionMode.Full)
                    changes.Add(new PlannedChange($"deployments.apps/{runtime.Workload.StableDeployment} in namespace {p.Namespace}", "patch",
                        $"set stable's pod template to the canary's ({runtime.Workload.CanaryDeployment}) and wait until ready", null));
                changes.AddRange((await runtime.Router.PlanSetCanaryWeightAsync(runtime.Plan.Policies.Promotion == PromotionMode.Full ? 0 : 100, ct).ConfigureAwait(false)).Select(ToChange));
                changes.Add(new PlannedChange($"rollout {p.Name}", "cleanup", CleanupDescription(runtime), null));
                return changes;
            }
            case PauseOperation p:
                return [new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(p.Name)} in namespace {p.Namespace}", "patch", "record phase Paused (manual)", null)];
            case ResumeOperation r:
                return [new PlannedChange($"configmaps/{RolloutStateStore.ObjectName(r.Name)} in namespace {r.Namespace}", "patch", "record phase Progressing and continue the steps", null)];
            case SetHeaderRouteOperation h when (await RuntimeForAsync(h.Namespace, h.Name, ct).ConfigureAwait(false)).Router is IHeaderRouteInstructions hint:
                return [new PlannedChange($"route of rollout {h.Name}", "none", hint.HeaderRouteInstructions(RolloutExecutor.ToHeaderRoute(h.Route)), null)];
            case SetHeaderRouteOperation h:
                return [new PlannedChange($"{(await RuntimeForAsync(h.Namespace, h.Name, ct).ConfigureAwait(false)).MeshProvider} route of rollout {h.Name}", "patch",
                    h.Route.Cookie is { } cookie
                        ? $"add header route {h.Route.RouteName}: cookie {cookie.Name} {(cookie.IsRegex ? "regex" : "value")} '{cookie.Value}' (header cookie regex '{cookie.HeaderRegex}') -> canary"
                        : $"add header route {h.Route.RouteName}: {h.Route.HeaderName} {h.Route.MatchType.ToString().ToLowerInvariant()} '{h.Route.HeaderValue}' -> canary", null)];
            case RemoveHeaderRouteOperation h:
                return [new PlannedChange($"{(await RuntimeForAsync(h.Namespace, h.Name, ct).ConfigureAwait(false)).MeshProvider} route of rollout {h.Name}", "patch",
                    $"remove header route {h.RouteName}", null)];
            default:
                throw new ArgumentException($"unknown operation {operation.GetType().Name}", nameof(operation));
        }
    }

    public ValueTask DisposeAsync() => (_api as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task<RolloutResult> DriveAsync(StoredRollout stored, CancellationToken ct)
    {
        var runtime = _runtimes.Create(ParseStored(stored));
        var lease = await AcquireAsync(stored.Namespace, stored.Name, ct).ConfigureAwait(false);
        try
        {
            return ToResult(await _executor.DriveAsync(stored, runtime, lease, ct).ConfigureAwait(false));
        }
        finally
        {
            await ReleaseAsync(lease, ct).ConfigureAwait(false);
        }
    }

    private async Task<RolloutRuntime> RuntimeForAsync(string ns, string name, CancellationToken ct) =>
        _runtimes.Create(ParseStored(await _store.LoadAsync(ns, name, ct).ConfigureAwait(false)));

    /// <summary>What a weight step writes, for meshes whose weights are not percents: namerd's dentry, the canary Ingress's annotation.</summary>
    private static string StepWrite(RolloutSpec spec, PlanStep step) => (step, spec.MeshProvider) switch
    {
        (SetWeightPlanStep w, MeshProviders.Linkerd1) =>
            $" (namerd dtab '{spec.Linkerd1!.DtabNamespace}': {Linkerd1Router.DescribeDentry(spec.Linkerd1, w.Weight)}, one compare-and-set)",
        (SetWeightPlanStep w, MeshProviders.Nginx) =>
            $" (Ingress {spec.Nginx!.CanaryIngress ?? spec.Nginx.Ingress + "-canary"}: canary-weight {Math.Round(w.Weight * spec.Nginx.WeightTotal / 100)} of {spec.Nginx.WeightTotal})",
        _ => "",
    };

    private static string CleanupDescription(RolloutRuntime rt) =>
        $"remove header routes and ownership annotations; {(rt.Workload.CreatesCanary ? $"delete Deployment {rt.Workload.CanaryDeployment}" : "leave the canary Deployment (not created by Kubestead)")}; remove objects Kubestead created for {rt.MeshProvider} routing";

    private static PlannedChange ToChange(PlannedWrite w) => new(w.Target.ToString(), w.Verb, w.Description, w.Body?.ToJsonString());

    private Task<RolloutLease> AcquireAsync(string ns, string name, CancellationToken ct) =>
        RolloutLease.AcquireAsync(_api, _options.Clock, ns, name, _options.Driver, _options.LeaseDuration, ct);

    /// <summary>
    /// Ends a drive. The caller's token may already be cancelled (Ctrl+C, SIGTERM, StopProcessing), so the last writes
    /// get their own short timeout: when cancelled, the status first says where the driver stopped; then the Lease is
    /// given up, so the next driver (a retried CI job, Resume-KubesteadRollout) need not wait for it to expire. Both are
    /// best effort: a failure here must not hide the drive's own outcome, and an unreleased Lease only expires.
    /// </summary>
    private async Task ReleaseAsync(RolloutLease lease, CancellationToken callerToken)
    {
        using var cts = new CancellationTokenSource(_options.ReleaseTimeout);
        if (callerToken.IsCancellationRequested)
        {
            try
            {
                await RecordCancelledAsync(lease.Namespace, lease.Rollout, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubesteadException or KubernetesApiException or OperationCanceledException or HttpRequestException)
            {
                // The status still holds the last step recorded; only the note is missing.
            }
        }
        await lease.ReleaseAsync(cts.Token).ConfigureAwait(false);
        if (callerToken.IsCancellationRequested)
            _options.Observer.OnEvent(new VerboseEvent(Now, lease.Namespace, lease.Rollout, $"lease {RolloutLease.ObjectName(lease.Rollout)} released"));
    }

    private async Task RecordCancelledAsync(string ns, string name, CancellationToken ct)
    {
        var stored = await UpdateStatusAsync(ns, name, s =>
        {
            if (s.Phase is not (RolloutPhase.Progressing or RolloutPhase.Promoting)) return null;
            var where = $"driver {_options.Driver} was cancelled at step {s.StepIndex + 1} ({s.Phase}, canary {s.CanaryWeight:0.###}%); " +
                        "every step taken is recorded: resume to continue";
            return (s with { Message = where }).WithHistory(Entry("cancelled", where, s.CanaryWeight));
        }, ct).ConfigureAwait(false);
        _options.Observer.OnEvent(new WarningEvent(Now, ns, name, stored.Status.Message));
    }

    /// <summary>One problem is thrown as itself (its error id stays stable); several as one error listing them all.</summary>
    private async Task PreflightOrThrowAsync(RolloutSpec spec, RolloutRuntime runtime, CancellationToken ct)
    {
        var preflight = await _preflight.RunAsync(spec, runtime, ct).ConfigureAwait(false);
        if (!preflight.Passed)
            throw preflight.Errors.Count == 1 ? preflight.Errors[0] : new PreflightFailedException(preflight);
    }

    private void WarnAboutPlan(RolloutSpec spec)
    {
        foreach (var w in Planner(spec)) _options.Observer.OnEvent(new WarningEvent(Now, spec.Namespace, spec.Name, w));
    }

    private static IEnumerable<string> Planner(RolloutSpec spec)
    {
        if (spec.Analysis is null) yield return "no analysis is configured: the canary will be promoted after its steps without any metric check";
        foreach (var (step, i) in spec.Steps.Select((s, i) => (s, i)))
            if (step is SetWeightStepSpec w && PercentFields.WeightWarning(i, w.Weight) is { } warning) yield return warning;
    }

    private async Task<(RolloutSpec Spec, string Yaml)> ParseRequestAsync(StartRequest request, CancellationToken ct)
    {
        string yaml;
        string file;
        if (request.SpecYaml is { } text)
        {
            yaml = text;
            file = request.SpecPath ?? "<spec>";
        }
        else if (request.SpecPath is { } path)
        {
            if (!File.Exists(path))
                throw new KubesteadException("SpecFileNotFound", KubesteadErrorKind.InvalidInput, $"spec file '{path}' does not exist", path);
            yaml = File.ReadAllText(path);
            file = path;
        }
        else if (request.Name is { } name && request.Image is { } image)
        {
            // Without -MeshProvider the mesh is detected as New-KubesteadRolloutSpec detects it: never a silent "none"
            // on a cluster whose traffic goes through a mesh.
            var mesh = request.MeshProvider ?? await SpecScaffolder.DetectMeshAsync(_api, ct).ConfigureAwait(false);
            if (mesh == MeshProviders.Linkerd1)
                throw new KubesteadException("SpecFileRequired", KubesteadErrorKind.InvalidInput,
                    "meshProvider linkerd1 needs spec.linkerd1 (namerd's address, the dtab namespace, the prefix and the stable and canary paths), which " +
                    "-Name/-Image cannot guess: scaffold a spec (New-KubesteadRolloutSpec -MeshProvider linkerd1, kubestead new-spec --mesh linkerd1), check it, and start it with -Path / --file");
            yaml = RolloutSpecDefaults.ForImage(name, request.Namespace ?? DefaultNamespace, request.Service ?? name, mesh, image);
            file = "<-Name/-Image>";
        }
        else
        {
            throw new KubesteadException("SpecMissing", KubesteadErrorKind.InvalidInput, "give a spec file (-Path / --file), or a name with an image (-Name and -Image)");
        }
        var result = RolloutSpecParser.Parse(yaml, file);
        if (!result.IsValid) throw new RolloutSpecInvalidException(result.Problems);
        var spec = result.Spec!;
        // The stored spec is read by other processes on other machines: a manifest file it names goes in with it.
        yaml = RolloutSpecParser.InlineManifest(yaml, file);
        if (request.Namespace is { } ns && request.SpecYaml is null && request.SpecPath is not null && ns != spec.Namespace)
            spec = spec with { Namespace = ns };
        return (spec, yaml);
    }

    private static RolloutSpec ParseStored(StoredRollout stored)
    {
        var result = RolloutSpecParser.Parse(stored.SpecYaml, RolloutStateStore.ObjectName(stored.Name));
        if (!result.IsValid)
            throw new RolloutStateCorruptException(stored.Namespace, stored.Name, "the stored spec no longer parses: " + string.Join("; ", result.Problems));
        return result.Spec! with { Namespace = stored.Namespace };
    }

    private async Task<StoredRollout> UpdateStatusAsync(string ns, string name, Func<RolloutStatus, RolloutStatus?> change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stored = await _store.LoadAsync(ns, name, ct).ConfigureAwait(false);
            var next = change(stored.Status);
            if (next is null) return stored;
            try
            {
                return await _store.SaveAsync(stored, next with { UpdatedAt = Now }, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when ((e.IsConflict || e.IsInvalid) && attempt < 5)
            {
                // The driver wrote in between: re-read and apply the change again.
            }
        }
    }

    private RolloutHistoryEntry Entry(string kind, string message, double? weight = null) =>
        new(Now, _options.Driver.ToString(), kind, message, weight);

    private static RolloutStateException NotInPhase(string name, RolloutPhase phase, string verb) =>
        new("RolloutNotActive", $"Rollout '{name}' is {phase} and cannot be {verb}; start a new rollout instead", $"configmaps/{RolloutStateStore.ObjectName(name)}");

    private static RolloutResult ToResult(StoredRollout stored)
    {
        var s = stored.Status;
        string mesh = "?";
        int stepCount = 0;
        string? current = null;
        double? baseline = null;
        var parsed = RolloutSpecParser.Parse(stored.SpecYaml, stored.Name);
        if (parsed.Spec is { } spec)
        {
            mesh = spec.MeshProvider;
            if (spec.CreateBaseline) baseline = RolloutSpec.BaselineShare(s.CanaryWeight);
            var plan = RuntimeFactory.ToPlan(spec);
            stepCount = plan.Steps.Count;
            current = s.StepIndex < plan.Steps.Count ? plan.Steps[s.StepIndex].Describe() : null;
        }
        var driver = s.History.Count > 0 ? s.History[^1].Driver : null;
        return new RolloutResult(stored.Name, stored.Namespace, s.Phase, s.PauseReason, s.Message, mesh, s.StepIndex, stepCount, current,
            100 - s.CanaryWeight - (baseline ?? 0), s.CanaryWeight, s.LastVerdicts, s.History, s.StartedAt, s.UpdatedAt, s.FinishedAt, driver)
        {
            Timeline = s.Timeline,
            BaselineWeight = baseline,
            BackgroundVerdicts = s.BackgroundVerdicts,
            WarmingUp = s.WarmingUp && !s.Phase.IsTerminal(),
            WarmupUntil = s.WarmupUntil,
            WarmupWindows = s.WarmupWindows,
            WarmupFrom = s.WarmupFrom,
            WarmupAwaitingReady = s.WarmupAwaitingReady && !s.Phase.IsTerminal(),
            WarmupRestarts = s.WarmupRestarts,
        };
    }

    /// <summary>A setWeight step's three-way split with a created baseline; without a mesh, the shares the pod counts give.</summary>
    internal static string BaselineStepText(RolloutSpec spec, double weight, int stableReplicas)
    {
        var baseline = RolloutSpec.BaselineShare(weight);
        if (spec.MeshProvider != MeshProviders.None)
            return $"(baseline {baseline:0.###}%, stable {100 - weight - baseline:0.###}%)";
        var mode = spec.None?.Capacity == CapacityPolicy.KeepTotal ? CapacityMode.KeepTotal : CapacityMode.KeepStable;
        try
        {
            var plan = ReplicaRatioPlanner.Plan(weight, stableReplicas, mode, baseline: true);
            return $"(pods stable {plan.StableReplicas} : canary {plan.CanaryReplicas} : baseline {plan.BaselineReplicas}, " +
                   $"so about {plan.StablePercent:0.#}% : {plan.CanaryPercent:0.#}% : {plan.BaselinePercent:0.#}%)";
        }
        catch (TrafficRoutingException e)
        {
            return $"(not possible: {e.Message})";
        }
    }

    private static WeightReport ToWeightReport(StoredRollout stored, string mesh, TrafficSplit split)
    {
        var v = stored.Status.LastVerdicts.FirstOrDefault(x => x.CanaryRequests + x.ControlRequests > 0);
        double? observed = v is null ? null : 100.0 * v.CanaryRequests / (v.CanaryRequests + v.ControlRequests);
        return new WeightReport(stored.Name, stored.Namespace, mesh, split.StablePercent, split.CanaryPercent,
            split.Backends.Select(b => new BackendWeightInfo(b.Backend, b.Weight)).ToList(), split.Source, observed);
    }
}
