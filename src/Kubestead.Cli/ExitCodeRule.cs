namespace Kubestead.Cli;

/// <summary>
/// Which commands exit by the rollout's phase and which by their own success. A CI step that moves a rollout needs its
/// outcome as the exit code; a step that only reads (a dashboard, a report) must not fail because a rollout it shows
/// was rolled back. Printed in the help and in docs/cli.md (a test keeps them equal).
/// </summary>
public static class ExitCodeRule
{
    public const string Text =
        "Commands that move a rollout (start, wait, resume, approve, promote, pause, abort) exit by its phase when they return: " +
        "0 completed or still running, 3 aborted or failed, 4 paused. Commands that read or edit without moving it (status, history, " +
        "report, weight, set-weight, header-route, gitops, new-spec, plan) exit 0 when they did their job, whatever the phase; " +
        "validate exits 2 for a spec with problems, and analyze by its verdicts (3 a Fail, 4 not all Pass yet).";
}
