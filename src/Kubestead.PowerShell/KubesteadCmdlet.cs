using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.PowerShell;

/// <summary>
/// Base of the cluster cmdlets: -Namespace/-Context/-KubeConfig, calls into Core on a worker task, engine events
/// written as progress/verbose/warning from the pipeline thread only, and Core's errors as ErrorRecords with a stable
/// id, a real category and the object as target.
/// Lifetime rule: when the cmdlet ends for any reason (Ctrl+C, Stop-Job, a downstream Select-Object -First, a
/// -WarningAction Stop, a failing downstream command, an engine shutdown) its worker is cancelled and awaited before
/// the cmdlet returns, so nothing of it keeps changing the cluster or holding a Lease.
/// Per-input failures (a rollout that does not exist, a conflict) are non-terminating errors, so -ErrorAction works
/// and the next pipeline input is still processed; only failures that no input can escape (no kubeconfig, cluster
/// unreachable, unauthenticated) terminate.
/// </summary>
public abstract class KubesteadCmdlet : PSCmdlet, IDisposable
{
    /// <summary>How long an ending cmdlet waits for its cancelled worker (the current write finishes, the Lease is released).</summary>
    private static readonly TimeSpan WorkerGrace = TimeSpan.FromSeconds(30);

    /// <summary>The most an ending cmdlet waits for its recorded Kubernetes Events to be written (the recorder's own bound at disposal).</summary>
    private static readonly TimeSpan EventFlushGrace = TimeSpan.FromSeconds(5);

    /// <summary>Progress bars: the rollout's (steps done of all) and, under it, the current step's wait.</summary>
    private const int RolloutProgressId = 1, StepProgressId = 2;

    private readonly CancellationTokenSource _cancel = new();
    private readonly ForwardingObserver _observer = new();
    private Task? _worker;
    private SessionConnections.Lease? _connection;
    private string? _connectionNamespace;
    private bool _disposed;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Namespace { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ContextCompleter))]
    public string? Context { get; set; }

    [Parameter]
    public string? KubeConfig { get; set; }

    /// <summary>Bound on each API request (watches excepted), as kubectl's --request-timeout: 0 is no limit.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int? TimeoutSec { get; set; }

    /// <summary>
    /// For paths that read no cluster (a spec checked offline, counts judged ad hoc): connection parameters given there
    /// would be silently ignored, so each one given is named in a warning.
    /// </summary>
    protected void WarnUnusedConnectionParameters(string why)
    {
        var given = new[] { nameof(KubeConfig), nameof(Context), nameof(TimeoutSec) }.Where(MyInvocation.BoundParameters.ContainsKey).ToList();
        if (given.Count > 0) WriteWarning($"{string.Join(", ", given.Select(p => "-" + p))} {(given.Count == 1 ? "is" : "are")} not used: {why}");
    }

    /// <summary>
    /// What an error of the current input is about, as its ErrorRecord's TargetObject: what the user gave (the rollout's
    /// -Name, bound from the pipeline or typed; a spec's path), so `$Error[0].TargetObject` names the input to retry.
    /// The Kubernetes object at fault stays named in the message.
    /// </summary>
    protected virtual object? InputTarget => MyInvocation.BoundParameters.TryGetValue("Name", out var name) && name is string { Length: > 0 } ? name : Namespace;

    /// <summary>The rollout this input is about, when the user named it (-Name): request lines and events without one carry it.</summary>
    protected string? RolloutName => MyInvocation.BoundParameters.TryGetValue("Name", out var name) && name is string { Length: > 0 } s && !WildcardPattern.ContainsWildcardCharacters(s) ? s : null;

    /// <summary>One pipeline input. Throwing <see cref="InputFailedException"/> reports a non-terminating error.</summary>
    protected abstract void ProcessInput();

    protected sealed override void ProcessRecord()
    {
        try
        {
            ProcessInput();
        }
        catch (InputFailedException failed)
        {
            WriteError(failed.Record);
        }
    }

    protected override void EndProcessing() => DisposeService();

    protected override void StopProcessing() => _cancel.Cancel();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cancel.Cancel();
        DrainWorker();
        DisposeService();
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs one call into Core on a worker task, pumping its events to the host until it ends.</summary>
    internal T Run<T>(Func<IKubesteadService, CancellationToken, Task<T>> call)
    {
        var events = new BlockingCollection<RolloutEvent>();
        _observer.Target = events;
        var ns = Namespace;
        var runspace = Runspace.DefaultRunspace;
        var task = Task.Run(async () =>
        {
            var service = await ServiceAsync(ns, runspace).ConfigureAwait(false);
            return await call(service, _cancel.Token).ConfigureAwait(false);
        });
        _worker = task;
        // The pump ends the moment the call does, not at its next poll: a warm cmdlet's whole call is a few milliseconds.
        _ = task.ContinueWith(_ => events.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        using var sigterm = OnTermination();
        return Pump(events, task);
    }

    /// <summary>
    /// While Core works, SIGTERM (a cancelled CI job, docker stop, kill) cancels the worker and waits for it, so the
    /// rollout's Lease is released and its status says where it stopped; then the signal's default action ends
    /// PowerShell as before (exit 143). Without this the process died holding the Lease until it expired.
    /// </summary>
    private System.Runtime.InteropServices.PosixSignalRegistration? OnTermination()
    {
        if (OperatingSystem.IsWindows()) return null;
        return System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ =>
        {
            _cancel.Cancel();
            DrainWorker();
        });
    }

    private TimeSpan? RequestTimeout() => TimeoutSec switch
    {
        null => null,
        0 => Timeout.InfiniteTimeSpan,
        var s => TimeSpan.FromSeconds(s.Value),
    };

    /// <summary>
    /// The session's kept connection when it was made from the same kubeconfig (files unchanged), context, namespace and
    /// timeout; else a new one, which the session then keeps (<see cref="SessionConnections"/>).
    /// </summary>
    private async Task<IKubesteadService> ServiceAsync(string? ns, Runspace? runspace)
    {
        if (_connection is not null && _connectionNamespace == ns)
        {
            _connection.Route(_observer);
            return _connection.Service;
        }
        DisposeService();
        var kubeconfig = KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig);
        try
        {
            var options = new ConnectionOptions(kubeconfig, Context, ns, RequestTimeout());
            if (runspace is null)
            {
                // No session to keep it in (a cmdlet invoked from a bare API host): this cmdlet's own connection.
                var own = await KubesteadConnector.ConnectAsync(options, _observer, null, _cancel.Token).ConfigureAwait(false);
                _connection = SessionConnections.Lease.Unshared(own);
            }
            else
            {
                var key = ConnectionKey.For(kubeconfig, Context, ns, options.RequestTimeout);
                _connection = await SessionConnections.For(runspace).AcquireAsync(key, async router =>
                {
                    var resolved = KubesteadConnector.Resolve(options);
                    var service = await KubesteadConnector.ConnectAsync(resolved, options, router, null, _cancel.Token).ConfigureAwait(false);
                    return new SessionConnections.Connected(service, resolved.CredentialFiles);
                }).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException)
        {
            // Without a connection no input can succeed.
            throw new ConnectionFailedException(e);
        }
        _connectionNamespace = ns;
        _connection.Route(_observer);
        return _connection.Service;
    }

    private T Pump<T>(BlockingCollection<RolloutEvent> events, Task<T> task)
    {
        try
        {
            foreach (var e in events.GetConsumingEnumerable()) Write(e);
            WriteProgress(new ProgressRecord(StepProgressId, "Kubestead", "done") { RecordType = ProgressRecordType.Completed, ParentActivityId = RolloutProgressId });
            WriteProgress(new ProgressRecord(RolloutProgressId, "Kubestead", "done") { RecordType = ProgressRecordType.Completed });
        }
        finally
        {
            // Reached with the task still running only when a Write* above threw (the pipeline is stopping):
            // cancel the worker and wait for it, writing nothing more.
            if (!task.IsCompleted)
            {
                _cancel.Cancel();
                DrainWorker();
            }
            _observer.Target = null;
        }
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (ConnectionFailedException e)
        {
            ThrowTerminatingError(Record(e.InnerException!, InputTarget));
            throw;
        }
        catch (Exception e) when (e is KubesteadException or KubernetesApiException)
        {
            var record = Record(e, InputTarget);
            if (IsFatal(e)) ThrowTerminatingError(record);
            throw new InputFailedException(record);
        }
    }

    private void DrainWorker()
    {
        var worker = _worker;
        if (worker is null || worker.IsCompleted) return;
        try
        {
            worker.Wait(WorkerGrace);
        }
        catch (AggregateException)
        {
            // The worker's own failure (usually the cancellation) is not news to a pipeline that is stopping.
        }
    }

    /// <summary>
    /// Gives the connection back to the session (which keeps it for the next cmdlet), once the Kubernetes Events this
    /// cmdlet recorded are written: a script whose process exits next must not lose them. Bounded like the disposal it
    /// replaces, so a dead API server does not hold the cmdlet.
    /// </summary>
    private void DisposeService()
    {
        var connection = _connection;
        _connection = null;
        if (connection is null) return;
        try
        {
            using var bound = new CancellationTokenSource(EventFlushGrace);
            connection.Service.FlushEventsAsync(bound.Token).Wait(bound.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or AggregateException)
        {
            // Events are a courtesy (the rollout's state is the record); one not written in time is dropped.
        }
        connection.Route(null);
        connection.Dispose();
    }

    private static ErrorRecord Record(Exception e, object? input)
    {
        var record = e switch
        {
            KubesteadException k => new ErrorRecord(k, k.ErrorId, ErrorCategories.For(k.Kind), input ?? k.Target),
            KubernetesApiException a => new ErrorRecord(a, "Kubernetes" + a.Reason, ErrorCategories.For(ErrorCategories.KindOf(a)), input ?? a.Target?.ToString()),
            _ => new ErrorRecord(e, e.GetType().Name, ErrorCategory.NotSpecified, input),
        };
        record.ErrorDetails = ErrorAdvice.For(e);
        return record;
    }

    /// <summary>Failures that the next input cannot escape either: the cluster is unreachable or refuses who we are.</summary>
    private static bool IsFatal(Exception e) => e switch
    {
        KubesteadException k => k.Kind == KubesteadErrorKind.Unavailable,
        KubernetesApiException a => a.Reason == StatusReason.Unauthorized || a.StatusCode is 0 or 401,
        _ => false,
    };

    private void Write(RolloutEvent e)
    {
        // A connection serves the whole pipeline, so its lines carry no rollout: this input's is named for them.
        var where = $"{e.Namespace}/{(e.Rollout.Length > 0 ? e.Rollout : RolloutName ?? InputTarget?.ToString() ?? "")}";
        switch (e)
        {
            case ApiRequestEvent:
                // One line per API request (method, path, status; no header, so no credential): debug, not verbose, so
                // -Verbose stays the rollout's story. -Debug in PowerShell 7.4+ sets Continue, so it never prompts.
                WriteDebug($"{e.At:HH:mm:ss} {where} {e.Message}");
                return;
            case WarningEvent w:
                WriteWarning(w.Text);
                return;
            case WaitingEvent w:
                // A timed step fills the bar and shows the time left; an analysis until a verdict fills it with the
                // canary requests seen against what the planner expects a verdict to need. It is the step's own bar,
                // under the rollout's (steps done of all), so one bar never jumps between the two scales.
                var record = new ProgressRecord(StepProgressId, $"Step of {w.Namespace}/{w.Rollout}", w.Activity) { StatusDescription = w.Message, ParentActivityId = RolloutProgressId };
                if (w.PercentComplete is { } percent) record.PercentComplete = percent;
                if (w.SecondsRemaining is { } seconds) record.SecondsRemaining = seconds;
                WriteProgress(record);
                break;
            case StepStartedEvent s:
                WriteProgress(new ProgressRecord(StepProgressId, $"Step of {s.Namespace}/{s.Rollout}", "started") { RecordType = ProgressRecordType.Completed, ParentActivityId = RolloutProgressId });
                WriteProgress(new ProgressRecord(RolloutProgressId, $"Rollout {s.Namespace}/{s.Rollout}", s.Message) { PercentComplete = 100 * s.StepIndex / Math.Max(1, s.StepCount) });
                break;
        }
        // Progress bars vanish in CI logs; every event is mirrored to the verbose stream.
        WriteVerbose($"{e.At:HH:mm:ss} {where} {e.Message}");
    }

    /// <summary>
    /// Asks once for the whole plan (its every write is listed in the -WhatIf text and the prompt). -WhatIf and
    /// $WhatIfPreference always win; an explicit -Confirm always asks; -Force only skips the confirmation that
    /// high-impact changes otherwise get. <paramref name="highImpact"/> makes a Medium cmdlet's change high impact
    /// for this call (Set-CanaryWeight 100). Under -NonInteractive a needed confirmation is a clear error naming the switches
    /// that go ahead (see <see cref="Confirmation"/>).
    /// </summary>
    internal bool ConfirmPlan(IReadOnlyList<PlannedChange> plan, string action, string target, bool force = false, bool highImpact = false)
    {
        if (plan.Count == 0)
        {
            WriteVerbose($"{action} {target}: nothing to change");
            return false;
        }
        var lines = string.Join(Environment.NewLine, plan.Select(c => $"  {c.Verb} {c.Target} ({c.Description})"));
        var description = $"{action} {target}: {plan.Count} change(s):{Environment.NewLine}{lines}";
        var whatIf = SwitchValue("WhatIf") ?? LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
        var confirm = SwitchValue("Confirm");
        if (plan.All(c => c.Verb == "none"))
        {
            // Nothing will be written (already at this version, a rollout already aborted): nothing to confirm, and
            // the call goes ahead to return the rollout; -WhatIf still says so and stops there.
            if (whatIf)
            {
                _ = ShouldProcess(description, $"{action} {target}?{Environment.NewLine}{lines}", action); // prints "What if:"
                return false;
            }
            foreach (var c in plan) WriteWarning($"{action} {target}: {c.Description}");
            return true;
        }
        if (force && !whatIf && confirm != true)
        {
            foreach (var c in plan) WriteVerbose($"{action}: {c.Verb} {c.Target} ({c.Description})");
            return true;
        }
        return Confirmation.Ask(this, $"{action} {target}", target, () =>
        {
            if (!ShouldProcess(description, $"{action} {target}? It makes these changes:{Environment.NewLine}{lines}", action)) return false;
            if (highImpact && !whatIf && confirm is null && !force)
                return ShouldContinue($"{action} {target}? It makes these changes:{Environment.NewLine}{lines}", action);
            return true;
        });
    }

    /// <summary>
    /// The -PassThru cmdlets that change one thing of a rollout (Suspend-KubesteadRollout, Set-/Remove-CanaryHeaderRoute):
    /// plan, confirm, change (<see cref="IKubesteadService.ChangeAsync"/>), and output the rollout only with
    /// <paramref name="passThru"/>, as Set-Item and Stop-Service do. A plan with nothing to write (already paused, no such
    /// route) is said in a warning by <see cref="ConfirmPlan"/>, and Core then writes nothing; -PassThru returns the
    /// rollout as it is.
    /// </summary>
    internal RolloutResult? ChangeRollout(Func<IKubesteadService, PlannedOperation> operation, string action, string name, bool passThru)
    {
        PlannedOperation? planned = null;
        var plan = Run((s, ct) => s.PlanAsync(planned = operation(s), ct));
        if (!ConfirmPlan(plan, action, name)) return null;
        var result = Run((s, ct) => s.ChangeAsync(planned!, plan, passThru, ct));
        if (passThru && result is not null) WriteObject(Map.Rollout(result));
        return result;
    }

    private bool? SwitchValue(string name) =>
        MyInvocation.BoundParameters.TryGetValue(name, out var v) ? LanguagePrimitives.IsTrue(v) : null;

    /// <summary>
    /// Writes a driven rollout's result, and for CI: a rolled-back (Aborted/Failed) rollout is also a non-terminating
    /// error with a stable id (so $ErrorActionPreference = 'Stop' fails the step), a pause is a warning, or an error
    /// with <paramref name="errorOnPause"/>, and a wait that reached its timeout is an error.
    /// </summary>
    internal void WriteOutcome(RolloutResult result, bool errorOnPause = false, bool timedOut = false)
    {
        var rollout = Map.Rollout(result);
        WriteObject(rollout);
        var target = $"{result.Namespace}/{result.Name}";
        switch (result.Phase)
        {
            case RolloutPhase.Aborted or RolloutPhase.Failed:
                WriteError(new ErrorRecord(new KubesteadRolloutOutcomeException(
                        $"rollout {target} was rolled back ({result.Phase}): {result.Message}", KubesteadRolloutOutcomeException.RolledBack),
                    result.Phase == RolloutPhase.Failed ? "RolloutFailed" : "RolloutRolledBack", ErrorCategory.InvalidResult, rollout));
                break;
            case RolloutPhase.Paused when errorOnPause:
                WriteError(new ErrorRecord(new KubesteadRolloutOutcomeException(
                        $"rollout {target} is paused ({result.PauseReason}): {result.Message}", KubesteadRolloutOutcomeException.Paused),
                    "RolloutPaused", ErrorCategory.OperationStopped, rollout));
                break;
            case RolloutPhase.Paused:
                WriteWarning($"rollout {target} is paused ({result.PauseReason}): {result.Message}");
                break;
            default:
                if (timedOut)
                    WriteError(new ErrorRecord(new KubesteadRolloutOutcomeException(
                            $"rollout {target} is still {result.Phase} at step {rollout.Step}/{rollout.StepCount} after the -Timeout; nothing drives it once this command returns (Resume-KubesteadRollout drives it on)",
                            KubesteadRolloutOutcomeException.TimedOut, new TimeoutException()),
                        "RolloutWaitTimeout", ErrorCategory.OperationTimeout, rollout));
                break;
        }
    }

    /// <summary>Reports a per-input failure as a non-terminating error.</summary>
    internal sealed class InputFailedException(ErrorRecord record) : Exception(record.Exception.Message)
    {
        public ErrorRecord Record { get; } = record;
    }

    private sealed class ConnectionFailedException(Exception inner) : Exception(inner.Message, inner);

    /// <summary>Routes the engine's events to the queue of the call in progress (one connection serves several calls).</summary>
    private sealed class ForwardingObserver : IRolloutObserver
    {
        public volatile BlockingCollection<RolloutEvent>? Target;

        public void OnEvent(RolloutEvent e)
        {
            try
            {
                Target?.Add(e);
            }
            catch (InvalidOperationException)
            {
                // The call that wanted it has ended.
            }
        }
    }
}
