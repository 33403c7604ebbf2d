using System.Management.Automation;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>Starts a rollout from a spec file, or from -Name and -Image; waits with progress unless -NoWait.</summary>
[Cmdlet(VerbsLifecycle.Start, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Path")]
[OutputType(typeof(KubesteadRollout))]
public sealed class StartKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Image", ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Image")]
    public string Image { get; set; } = "";

    [Parameter(ParameterSetName = "Image")]
    public string? Service { get; set; }

    [Parameter(ParameterSetName = "Image")]
    [ValidateSet("istio", "linkerd", "smi", "none")]
    public string? MeshProvider { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter Replace { get; set; }

    protected override void ProcessRecord()
    {
        var request = new StartRequest
        {
            Replace = Replace,
            SpecPath = ParameterSetName == "Path" ? GetUnresolvedProviderPathFromPSPath(Path) : null,
            Name = ParameterSetName == "Image" ? Name : null,
            Image = ParameterSetName == "Image" ? Image : null,
            Service = Service, MeshProvider = MeshProvider, Namespace = Namespace,
        };
        var plan = Run((s, ct) => s.PlanAsync(new StartOperation(request), ct));
        if (!ConfirmPlan(plan, "Start canary rollout")) return;
        WriteObject(Map.Rollout(Run((s, ct) => s.StartAsync(request, !NoWait, ct))));
    }
}

/// <summary>Gets one rollout, or lists rollouts.</summary>
[Cmdlet(VerbsCommon.Get, "KubesteadRollout", DefaultParameterSetName = "Namespace")]
[OutputType(typeof(KubesteadRollout))]
public sealed class GetKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Namespace")]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter AllNamespaces { get; set; }

    protected override void ProcessRecord()
    {
        if (Name is not null)
        {
            WriteObject(Map.Rollout(Run((s, ct) => s.GetAsync(Namespace, Name, ct))));
            return;
        }
        foreach (var r in Run((s, ct) => s.ListAsync(AllNamespaces ? "*" : Namespace, ct))) WriteObject(Map.Rollout(r));
    }
}

/// <summary>Drives (or watches) a rollout until it completes, rolls back or pauses.</summary>
[Cmdlet(VerbsLifecycle.Wait, "KubesteadRollout")]
[OutputType(typeof(KubesteadRollout))]
public sealed class WaitKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public TimeSpan? Timeout { get; set; }

    protected override void ProcessRecord() => WriteObject(Map.Rollout(Run((s, ct) => s.WaitAsync(Namespace, Name, Timeout, ct))));
}

/// <summary>Pauses a rollout where it is.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class SuspendKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string Name { get; set; } = "";

    protected override void ProcessRecord()
    {
        var plan = Run((s, ct) => s.PlanAsync(new PauseOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Pause rollout")) WriteObject(Map.Rollout(Run((s, ct) => s.PauseAsync(Namespace, Name, ct))));
    }
}

/// <summary>Resumes a paused rollout and drives it on unless -NoWait.</summary>
[Cmdlet(VerbsLifecycle.Resume, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class ResumeKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessRecord()
    {
        var plan = Run((s, ct) => s.PlanAsync(new ResumeOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Resume rollout")) WriteObject(Map.Rollout(Run((s, ct) => s.ResumeAsync(Namespace, Name, !NoWait, ct))));
    }
}

/// <summary>Aborts a rollout: all traffic to stable in one write, then clean-up.</summary>
[Cmdlet(VerbsLifecycle.Stop, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(KubesteadRollout))]
public sealed class StopKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var plan = Run((s, ct) => s.PlanAsync(new AbortOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Abort rollout and roll back", Force)) WriteObject(Map.Rollout(Run((s, ct) => s.AbortAsync(Namespace, Name, ct))));
    }
}

/// <summary>Promotes the canary now, skipping the remaining steps.</summary>
[Cmdlet(VerbsLifecycle.Complete, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(KubesteadRollout))]
public sealed class CompleteKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var plan = Run((s, ct) => s.PlanAsync(new PromoteOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Promote canary", Force)) WriteObject(Map.Rollout(Run((s, ct) => s.PromoteAsync(Namespace, Name, !NoWait, ct))));
    }
}

/// <summary>Validates a spec, and with -Cluster the objects, CRDs and permissions it needs.</summary>
[Cmdlet(VerbsDiagnostic.Test, "KubesteadRollout")]
[OutputType(typeof(KubesteadCheck))]
public sealed class TestKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    [Parameter]
    public SwitchParameter Cluster { get; set; }

    protected override void ProcessRecord()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        if (Cluster)
        {
            foreach (var c in Run((s, ct) => s.TestAsync(new StartRequest { SpecPath = path, Namespace = Namespace }, true, ct)).Checks) WriteObject(Map.Check(c));
            return;
        }
        if (!File.Exists(path))
            ThrowTerminatingError(new ErrorRecord(new FileNotFoundException($"spec file '{path}' does not exist"), "SpecFileNotFound", ErrorCategory.ObjectNotFound, path));
        foreach (var c in KubesteadConnector.Offline().ValidateSpec(File.ReadAllText(path), path).Checks) WriteObject(Map.Check(c));
    }
}

/// <summary>Scaffolds a rollout spec (YAML) from what the cluster holds for a service.</summary>
[Cmdlet(VerbsCommon.New, "KubesteadRolloutSpec")]
[OutputType(typeof(string))]
public sealed class NewKubesteadRolloutSpecCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string Service { get; set; } = "";

    [Parameter]
    [ValidateSet("istio", "linkerd", "smi", "none")]
    public string? MeshProvider { get; set; }

    protected override void ProcessRecord() => WriteObject(Run((s, ct) => s.NewSpecAsync(Namespace, Service, MeshProvider, ct)));
}

/// <summary>Completes rollout names from the ConfigMaps in the current namespace (bounded by a short timeout).</summary>
public sealed class RolloutNameCompleter : System.Management.Automation.IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        RolloutNames.List(fakeBoundParameters["Namespace"] as string).Where(n => n.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
}

internal static class RolloutNames
{
    public static IEnumerable<string> List(string? ns)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var service = KubesteadConnector.ConnectAsync(new ConnectionOptions(null, null, ns), null, null, cts.Token).GetAwaiter().GetResult();
            try
            {
                return service.ListAsync(ns, cts.Token).GetAwaiter().GetResult().Select(r => r.Name).ToList();
            }
            finally
            {
                service.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is KubesteadException or Kubestead.Kubernetes.KubernetesApiException or OperationCanceledException)
        {
            return [];
        }
    }
}
