namespace Kubestead.PowerShell;

/// <summary>
/// The exception of the error a driving cmdlet writes when a rollout did not end well. <see cref="ExitCode"/> is the
/// kubestead CLI's exit code for the same outcome, so a CI script can end with it:
/// <c>trap { exit ($_.Exception -is [Kubestead.PowerShell.KubesteadRolloutOutcomeException] ? $_.Exception.ExitCode : 1) }</c>.
/// </summary>
public sealed class KubesteadRolloutOutcomeException(string message, int exitCode, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Aborted by analysis or by hand, or failed (CLI exit code 3).</summary>
    public const int RolledBack = 3;

    /// <summary>Paused: insufficient data, drift, metric errors or waiting for a person (CLI exit code 4).</summary>
    public const int Paused = 4;

    /// <summary>A wait reached its timeout with the rollout still in progress (CLI exit code 5).</summary>
    public const int TimedOut = 5;

    public int ExitCode { get; } = exitCode;
}
