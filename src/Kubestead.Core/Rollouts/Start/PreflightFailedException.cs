using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// The preflight of <c>start</c> found problems; nothing was written. Every failed check is in the message, so one run
/// shows everything to fix. (A single failure is thrown as its own error, which keeps its id.)
/// </summary>
public sealed class PreflightFailedException(PreflightReport report)
    : RolloutException("PreflightFailed", report.Errors.Count > 0 ? report.Errors[0].Kind : KubesteadErrorKind.InvalidInput,
        "the preflight failed; nothing was written:" + string.Concat(report.Errors.Select(e => Environment.NewLine + "  - " + e.Message)),
        report.Errors.Count > 0 ? report.Errors[0].Target : null)
{
    public PreflightReport Report { get; } = report;
}
