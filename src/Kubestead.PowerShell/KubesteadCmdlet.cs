using System.Collections.Concurrent;
using System.Management.Automation;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>
/// Base of the cluster cmdlets: -Namespace/-Context/-KubeConfig, one call into Core on a worker task, engine events
/// written as progress/verbose/warning from the pipeline thread only, Ctrl+C (StopProcessing) cancels, and Core's
/// errors become ErrorRecords with a stable id, a real category and the object as target.
/// </summary>
public abstract class KubesteadCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _cancel = new();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? Namespace { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ContextCompleter))]
    public string? Context { get; set; }

    [Parameter]
    public string? KubeConfig { get; set; }

    protected override void StopProcessing() => _cancel.Cancel();

    internal T Run<T>(Func<IKubesteadService, CancellationToken, Task<T>> call)
    {
        var events = new BlockingCollection<RolloutEvent>();
        var observer = new QueueObserver(events);
        var kubeconfig = KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig);
        var task = Task.Run(async () =>
        {
            await using var service = await KubesteadConnector.ConnectAsync(new ConnectionOptions(kubeconfig, Context, Namespace), observer, null, _cancel.Token)
                .ConfigureAwait(false);
            return await call(service, _cancel.Token).ConfigureAwait(false);
        });
        return Pump(events, task);
    }

    internal T Pump<T>(BlockingCollection<RolloutEvent> events, Task<T> task)
    {
        while (!task.IsCompleted)
            if (events.TryTake(out var e, 100)) Write(e);
        while (events.TryTake(out var e)) Write(e);
        WriteProgress(new ProgressRecord(1, "Kubestead", "done") { RecordType = ProgressRecordType.Completed });
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (KubesteadException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, e.ErrorId, ErrorCategories.For(e.Kind), e.Target));
            throw;
        }
        catch (KubernetesApiException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "Kubernetes" + e.Reason, ErrorCategories.For(e), e.Target?.ToString()));
            throw;
        }
    }

    private void Write(RolloutEvent e)
    {
        switch (e)
        {
            case WarningEvent w:
                WriteWarning(w.Text);
                return;
            case WaitingEvent w:
                var record = new ProgressRecord(1, $"Rollout {w.Namespace}/{w.Rollout}", w.Activity);
                if (w.Remaining is { } left)
                {
                    record.SecondsRemaining = (int)left.TotalSeconds;
                    var total = (w.Elapsed + left).TotalSeconds;
                    if (total > 0) record.PercentComplete = (int)(100 * w.Elapsed.TotalSeconds / total);
                }
                WriteProgress(record);
                break;
            case StepStartedEvent s:
                WriteProgress(new ProgressRecord(1, $"Rollout {s.Namespace}/{s.Rollout}", s.Message) { PercentComplete = 100 * s.StepIndex / Math.Max(1, s.StepCount) });
                break;
        }
        // Progress bars vanish in CI logs; every event is mirrored to the verbose stream.
        WriteVerbose($"{e.At:HH:mm:ss} {e.Namespace}/{e.Rollout} {e.Message}");
    }

    /// <summary>
    /// Asks ShouldProcess for each planned change; true only when every one is confirmed (-WhatIf prints them all and
    /// writes nothing). -Force skips the confirmation of high-impact commands, but never overrides -WhatIf.
    /// </summary>
    internal bool ConfirmPlan(IReadOnlyList<PlannedChange> plan, string action, bool force = false)
    {
        if (force && !MyInvocation.BoundParameters.ContainsKey("WhatIf"))
        {
            foreach (var c in plan) WriteVerbose($"{action}: {c.Verb} {c.Target} ({c.Description})");
            return plan.Count > 0;
        }
        var all = true;
        foreach (var c in plan)
            all &= ShouldProcess(c.Target, $"{action}: {c.Verb} ({c.Description})");
        return all && plan.Count > 0;
    }

    private sealed class QueueObserver(BlockingCollection<RolloutEvent> queue) : IRolloutObserver
    {
        public void OnEvent(RolloutEvent e) => queue.Add(e);
    }
}

internal static class ErrorCategories
{
    public static ErrorCategory For(KubesteadErrorKind kind) => kind switch
    {
        KubesteadErrorKind.InvalidInput => ErrorCategory.InvalidArgument,
        KubesteadErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        KubesteadErrorKind.Conflict => ErrorCategory.ResourceBusy,
        KubesteadErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        KubesteadErrorKind.Unavailable => ErrorCategory.ConnectionError,
        _ => ErrorCategory.InvalidOperation,
    };

    public static ErrorCategory For(KubernetesApiException e) => e.Reason switch
    {
        StatusReason.NotFound => ErrorCategory.ObjectNotFound,
        StatusReason.Conflict or StatusReason.AlreadyExists => ErrorCategory.ResourceExists,
        StatusReason.Forbidden or StatusReason.Unauthorized => ErrorCategory.PermissionDenied,
        StatusReason.Invalid or StatusReason.BadRequest => ErrorCategory.InvalidData,
        StatusReason.Timeout or StatusReason.ServerTimeout => ErrorCategory.OperationTimeout,
        _ => ErrorCategory.ConnectionError,
    };
}
