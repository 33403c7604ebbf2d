using System.Runtime.InteropServices;

namespace Kubestead.Cli;

/// <summary>
/// The CLI's one cancellation path. SIGINT, SIGTERM and SIGQUIT (and Ctrl+C, which is SIGINT) all cancel
/// <see cref="Token"/>: the command lets the current write finish, releases the Lease and exits 130. CI runners and
/// Kubernetes escalate (SIGINT, then SIGTERM, then SIGKILL), so a second signal, or a command still running a grace
/// period after the first, exits at once with 130: the rollout stays resumable because every step is recorded
/// before and after it is taken.
/// </summary>
public sealed class TerminationSignals : IDisposable
{
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = new();
    private readonly TextWriter _error;
    private readonly Action<int> _exit;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private ITimer? _graceTimer;
    private int _received;

    /// <param name="exit">Ends the process at once (Environment.Exit in the CLI; a recorder in tests).</param>
    public TerminationSignals(TextWriter error, Action<int> exit, TimeProvider? clock = null)
    {
        _error = error;
        _exit = exit;
        _clock = clock ?? TimeProvider.System;
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>How long a cancelled command may take to stop cleanly before the process exits anyway.</summary>
    public TimeSpan GracePeriod { get; set; } = DefaultGracePeriod;

    /// <summary>Signals received so far.</summary>
    public int Received => Volatile.Read(ref _received);

    /// <summary>Hooks the process's signals. Call once, from Main.</summary>
    public void Register()
    {
        if (!OperatingSystem.IsWindows())
        {
            // A non-interactive shell starts background jobs with SIGINT and SIGQUIT ignored, and .NET does not
            // install a handler over an ignored SIGINT/SIGQUIT. A CI runner cancelling a job sends exactly those, so
            // restore the default disposition first: the handlers below then catch them.
            RestoreDefault(Sigint);
            RestoreDefault(Sigquit);
        }
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT })
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, c =>
                {
                    c.Cancel = true; // never the runtime's default (terminate at once, or a core dump for SIGQUIT)
                    OnSignal(c.Signal.ToString());
                }));
            }
            catch (PlatformNotSupportedException)
            {
                // Windows has no SIGQUIT; Ctrl+C is still covered by CancelKeyPress below.
            }
        }
        var viaPosix = _registrations.Count > 0;
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            // On Unix the same Ctrl+C also reached the SIGINT registration above: count it once.
            if (!viaPosix) OnSignal(e.SpecialKey == ConsoleSpecialKey.ControlBreak ? "Ctrl+Break" : "Ctrl+C");
        };
    }

    /// <summary>What a signal does: the first cancels and starts the grace timer; any later one exits at once.</summary>
    public void OnSignal(string name)
    {
        var n = Interlocked.Increment(ref _received);
        if (n > 1)
        {
            Say($"kubestead: {name} received again: exiting now; the rollout stays resumable ('kubestead resume <name>').");
            _exit(ExitCodes.Cancelled);
            return;
        }
        Say($"kubestead: {name} received: stopping cleanly: the current write finishes and the lease is released " +
            $"(exits in at most {GracePeriod.TotalSeconds:0.#} s; send it again to exit now).");
        lock (_gate)
        {
            _graceTimer = _clock.CreateTimer(_ =>
            {
                Say($"kubestead: did not stop within the grace period of {GracePeriod.TotalSeconds:0.#} s: exiting now; the rollout stays resumable.");
                _exit(ExitCodes.Cancelled);
            }, null, GracePeriod, Timeout.InfiniteTimeSpan);
        }
        try
        {
            _cts.Cancel();
        }
        catch (AggregateException)
        {
            // A callback's failure must not stop the process from shutting down.
        }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        lock (_gate) _graceTimer?.Dispose();
        _cts.Dispose();
    }

    private void Say(string line)
    {
        try
        {
            _error.WriteLine(line);
            _error.Flush();
        }
        catch (IOException)
        {
            // A closed stderr (the runner went away) must not keep us from stopping.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private const int Sigint = 2;
    private const int Sigquit = 3;

    private static void RestoreDefault(int signal)
    {
        try
        {
            _ = NativeMethods.signal(signal, IntPtr.Zero); // SIG_DFL
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable CA2101, SYSLIB1054 // no strings are marshalled; DllImport keeps this free of source generators on net8.0
        internal static extern IntPtr signal(int signum, IntPtr handler);
#pragma warning restore CA2101, SYSLIB1054
    }
}
