using System.Management.Automation;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>Passes the approval step a rollout waits at, recording who approved it and when, and drives it on unless -NoWait.</summary>
[Cmdlet(VerbsLifecycle.Approve, "KubesteadRollout", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class ApproveKubesteadRolloutCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Who approves, as recorded in the history (default: user@host of this session).</summary>
    [Parameter]
    public string? ApprovedBy { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter ErrorOnPause { get; set; }

    protected override void ProcessInput()
    {
        var plan = Run((s, ct) => s.PlanAsync(new ApproveOperation(Namespace ?? s.DefaultNamespace, Name, ApprovedBy), ct));
        if (ConfirmPlan(plan, "Approve rollout", Name)) WriteOutcome(Run((s, ct) => s.ApproveAsync(Namespace, Name, ApprovedBy, !NoWait, ct)), ErrorOnPause);
    }
}
