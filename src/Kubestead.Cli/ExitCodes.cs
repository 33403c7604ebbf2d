using Kubestead.Rollouts;
using Kubestead.Rollouts.Start;
using Kubestead.Rollouts.State;


namespace Kubestead.Cli;

/// <summary>The CLI's exit codes, documented in docs/cli.md (a test checks every one is in its table).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Error = 1;
    public const int InvalidInput = 2;
    public const int RolledBack = 3;
    public const int Paused = 4;
    /// <summary>wait --timeout ran out with the rollout still running; it is no longer driven by this process.</summary>
    public const int TimedOut = 5;
    /// <summary>start found a rollout of another version running; nothing was written (use --replace to replace it).</summary>
    public const int AnotherVersionRunning = 6;
    public const int Cancelled = 130;

    /// <summary>0 completed (or still running after --no-wait), 3 rolled back or failed, 4 paused.</summary>
    public static int For(RolloutResult r) => r.TimedOut && !r.Phase.IsTerminal() ? TimedOut : r.Phase switch
    {
        RolloutPhase.Aborted or RolloutPhase.Failed => RolledBack,
        RolloutPhase.Paused => Paused,
        _ => Success,
    };

    public static int For(Exception e) => e switch
    {
        OperationCanceledException => Cancelled,
        RolloutVersionConflictException => AnotherVersionRunning,
        KubesteadException { Kind: KubesteadErrorKind.InvalidInput } => InvalidInput,
        _ => Error,
    };
}
