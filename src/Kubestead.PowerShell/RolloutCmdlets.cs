using System.Management.Automation;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>Starts a rollout from a spec file, or from -Name and -Image; drives it with progress unless -NoWait.</summary>
[Cmdlet(VerbsLifecycle.Start, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Path")]
[OutputType(typeof(KubesteadRollout))]
public sealed class StartKubesteadRolloutCommand : SpecPathCmdlet
{
    [Parameter(Mandatory = true, ParameterSetName = "Image", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Image")]
    public string Image { get; set; } = "";

    [Parameter(ParameterSetName = "Image")]
    public string? Service { get; set; }

    [Parameter(ParameterSetName = "Image")]
    [ValidateSet("istio", "linkerd", "smi", "none", "nginx", "linkerd1")]
    public string? MeshProvider { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Write an error (not only a warning) when the rollout ends paused.</summary>
    [Parameter]
    public SwitchParameter ErrorOnPause { get; set; }

    /// <summary>When another version of this rollout is running, abort it and start this one (CI re-runs with a new image).</summary>
    [Parameter]
    public SwitchParameter Replace { get; set; }

    /// <summary>Record the rollout and hand it to `kubestead controller` instead of driving it here (refused when no controller is live).</summary>
    [Parameter]
    public SwitchParameter Detach { get; set; }

    /// <summary>Where the controllers run (their heartbeat Leases), for -Detach.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ControllerNamespace { get; set; } = Kubestead.Controller.ControllerPresence.DefaultNamespace;

    protected override void ProcessInput()
    {
        if (ParameterSetName == "Image")
        {
            StartOne(new StartRequest { Name = Name, Image = Image, Service = Service, MeshProvider = MeshProvider, Namespace = Namespace, Replace = Replace,
                Detach = Detach, ControllerNamespace = ControllerNamespace }, $"{Name} ({Image})");
            return;
        }
        foreach (var path in SpecFiles())
            StartOne(new StartRequest { SpecPath = path, Namespace = Namespace, Replace = Replace, Detach = Detach, ControllerNamespace = ControllerNamespace }, path);
    }

    private void StartOne(StartRequest request, string target)
    {
        var plan = Run((s, ct) => s.PlanAsync(new StartOperation(request), ct));
        if (!ConfirmPlan(plan, "Start canary rollout", target)) return;
        // A detached rollout is driven by a controller: this call records and hands it over, then returns.
        WriteOutcome(Run((s, ct) => s.StartAsync(request, !NoWait && !Detach, ct)), ErrorOnPause);
    }
}

/// <summary>
/// Gets one rollout, or lists rollouts. -Name takes wildcards (then, like Get-ChildItem, no match is no output, not an
/// error) and binds from the pipeline, by value ('shop' | Get-KubesteadRollout) or by property name.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KubesteadRollout", DefaultParameterSetName = "Namespace")]
[OutputType(typeof(KubesteadRollout))]
public sealed class GetKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Namespace")]
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "All")]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter AllNamespaces { get; set; }

    protected override void BeginProcessing()
    {
        // Both on the command line mean two different lists; which one the user wanted cannot be guessed.
        if (AllNamespaces && MyInvocation.BoundParameters.ContainsKey(nameof(Namespace)))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-AllNamespaces lists every namespace, -Namespace '{Namespace}' only one: give one of them", nameof(Namespace)),
                "NamespaceWithAllNamespaces", ErrorCategory.InvalidArgument, Namespace));
    }

    protected override void ProcessInput()
    {
        if (Name is not null && !AllNamespaces && !WildcardPattern.ContainsWildcardCharacters(Name))
        {
            WriteObject(Map.Rollout(Run((s, ct) => s.GetAsync(Namespace, Name, ct))));
            return;
        }
        var pattern = Name is null ? null : WildcardPattern.Get(Name, WildcardOptions.IgnoreCase);
        foreach (var r in Run((s, ct) => s.ListAsync(AllNamespaces ? "*" : Namespace, ct)))
            if (pattern is null || pattern.IsMatch(r.Name)) WriteObject(Map.Rollout(r));
    }
}

/// <summary>
/// Waits until a rollout completes, rolls back or pauses, driving it when no other process does (so it supports
/// -WhatIf: then it only reports the current state). A reached -Timeout is an error.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(KubesteadRollout))]
public sealed class WaitKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Seconds (300), a unit (5m) or hh:mm:ss.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    [Parameter]
    public SwitchParameter ErrorOnPause { get; set; }

    protected override void ProcessInput()
    {
        var target = $"{Namespace ?? "(default namespace)"}/{Name}";
        if (!Confirmation.ShouldProcess(this, $"Wait for rollout {target}", Name, target, "Wait for the rollout, driving its steps (weight changes, analysis, promotion or roll-back) when no other process drives it"))
        {
            WriteObject(Map.Rollout(Run((s, ct) => s.GetAsync(Namespace, Name, ct))));
            return;
        }
        // -ErrorOnPause makes a pause this step's failure: return at it. Otherwise keep judging the paused canary.
        var result = Run((s, ct) => s.WaitAsync(Namespace, Name, Timeout, throughPauses: !ErrorOnPause, ct));
        WriteOutcome(result, ErrorOnPause, timedOut: result.TimedOut);
    }
}

/// <summary>Pauses a rollout where it is; outputs the rollout only with -PassThru. An already paused rollout is a warning, and nothing is written.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class SuspendKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessInput() =>
        ChangeRollout(s => new PauseOperation(Namespace ?? s.DefaultNamespace, Name), "Pause rollout", Name, PassThru);
}

/// <summary>Resumes a paused rollout and drives it on unless -NoWait.</summary>
[Cmdlet(VerbsLifecycle.Resume, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class ResumeKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter ErrorOnPause { get; set; }

    protected override void ProcessInput()
    {
        var plan = Run((s, ct) => s.PlanAsync(new ResumeOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Resume rollout", Name)) WriteOutcome(Run((s, ct) => s.ResumeAsync(Namespace, Name, !NoWait, ct)), ErrorOnPause);
    }
}

/// <summary>Aborts a rollout: all traffic to stable in one write, then clean-up. High impact: asks unless -Force or -Confirm:$false.</summary>
[Cmdlet(VerbsLifecycle.Stop, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(KubesteadRollout))]
public sealed class StopKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Also wait out scaleDownDelay and remove the canary, instead of leaving that to the next comer.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>The rollout's spec file, used only when both its state ConfigMap and its Lease are gone: it names the route objects.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    protected override void ProcessInput()
    {
        var file = Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path);
        // Read through Run so a missing file is an ErrorRecord naming it, like every other bad input.
        var spec = file is null ? null : Run((_, _) => Task.FromResult(SpecFile.Read(file)));
        var plan = Run((s, ct) => s.PlanAsync(new AbortOperation(Namespace ?? s.DefaultNamespace, Name) { SpecFile = spec }, ct));
        if (ConfirmPlan(plan, "Abort rollout and roll back", Name, Force)) WriteObject(Map.Rollout(Run((s, ct) => s.AbortAsync(Namespace, Name, Wait.IsPresent, spec, ct))));
    }
}

/// <summary>Promotes the canary now, skipping the remaining steps. High impact: asks unless -Force or -Confirm:$false.</summary>
[Cmdlet(VerbsLifecycle.Complete, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(KubesteadRollout))]
public sealed class CompleteKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessInput()
    {
        var plan = Run((s, ct) => s.PlanAsync(new PromoteOperation(Namespace ?? s.DefaultNamespace, Name), ct));
        if (ConfirmPlan(plan, "Promote canary", Name, Force)) WriteOutcome(Run((s, ct) => s.PromoteAsync(Namespace, Name, !NoWait, ct)));
    }
}

/// <summary>
/// Validates specs, and with -Cluster the objects, CRDs and permissions they need. Writes a check object per check
/// and a non-terminating error per failed check; -Quiet returns one bool per spec instead.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "KubesteadRollout", DefaultParameterSetName = "Path")]
[OutputType(typeof(KubesteadCheck), typeof(bool))]
public sealed class TestKubesteadRolloutCommand : SpecPathCmdlet
{
    [Parameter]
    public SwitchParameter Cluster { get; set; }

    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void BeginProcessing()
    {
        if (!Cluster) WarnUnusedConnectionParameters("without -Cluster the spec is checked offline, and no cluster is read");
    }

    protected override void ProcessInput()
    {
        foreach (var path in SpecFiles())
        {
            var checks = Cluster
                ? Run((s, ct) => s.TestAsync(new StartRequest { SpecPath = path, Namespace = Namespace }, true, ct)).Checks
                : KubesteadConnector.Offline().ValidateSpec(File.ReadAllText(path), path).Checks;
            if (Quiet)
            {
                WriteObject(checks.All(c => c.Outcome != CheckOutcome.Failed));
                continue;
            }
            foreach (var c in checks)
            {
                WriteObject(Map.Check(c));
                if (c.Outcome == CheckOutcome.Failed)
                    WriteError(new ErrorRecord(new InvalidDataException(c.Message), "RolloutCheckFailed", ErrorCategory.InvalidData, c.Target ?? path));
            }
        }
    }
}

/// <summary>Scaffolds a rollout spec (YAML) from what the cluster holds for a service.</summary>
[Cmdlet(VerbsCommon.New, "KubesteadRolloutSpec")]
[OutputType(typeof(string))]
public sealed class NewKubesteadRolloutSpecCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Service { get; set; } = "";

    [Parameter]
    [ValidateSet("istio", "linkerd", "smi", "none", "nginx", "linkerd1")]
    public string? MeshProvider { get; set; }

    protected override void ProcessInput() => WriteObject(Run((s, ct) => s.NewSpecAsync(Namespace, Service, MeshProvider, ct)));
}
