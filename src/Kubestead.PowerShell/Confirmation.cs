using System.Management.Automation;
using System.Management.Automation.Host;

namespace Kubestead.PowerShell;

/// <summary>
/// ShouldProcess and ShouldContinue for every cmdlet of the module. PowerShell answers a confirmation it cannot show
/// (a -NonInteractive session, a host without a UI) with a raw PSInvalidOperationException; here it becomes a
/// ConfirmationRequired error naming the switches this cmdlet really has (-Force only where it exists), with the
/// input as target and a recommended action.
/// </summary>
internal static class Confirmation
{
    public static bool ShouldProcess(PSCmdlet cmdlet, string what, object? target, string description, string action) =>
        Ask(cmdlet, what, target, () => cmdlet.ShouldProcess(description, action));

    public static bool Ask(PSCmdlet cmdlet, string what, object? target, Func<bool> ask)
    {
        try
        {
            return ask();
        }
        catch (Exception e) when (e is PSInvalidOperationException or HostException or NotImplementedException)
        {
            var goAhead = cmdlet.MyInvocation.MyCommand.Parameters.ContainsKey("Force") ? "-Force, or -Confirm:$false," : "-Confirm:$false";
            var message = $"{what} needs a confirmation, and this session cannot prompt (-NonInteractive). Pass {goAhead} to go ahead; -WhatIf shows the changes.";
            cmdlet.ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(message, e), "ConfirmationRequired", ErrorCategory.PermissionDenied, target)
            {
                ErrorDetails = new ErrorDetails(message) { RecommendedAction = $"Run it again with {goAhead.TrimEnd(',')} (or from an interactive session); -WhatIf lists what it would do." },
            });
            throw;
        }
    }
}
