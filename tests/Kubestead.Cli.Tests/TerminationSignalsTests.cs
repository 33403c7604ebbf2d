namespace Kubestead.Cli.Tests;

/// <summary>The escalation rules of the one cancellation path, without a process (the signal tests send real ones).</summary>
public class TerminationSignalsTests
{
    [Fact]
    public void The_first_signal_cancels_and_a_second_exits_130_at_once()
    {
        var exits = new List<int>();
        var err = new StringWriter();
        using var signals = new TerminationSignals(err, exits.Add) { GracePeriod = TimeSpan.FromMinutes(5) };
        signals.OnSignal("SIGINT");
        Assert.True(signals.Token.IsCancellationRequested);
        Assert.Empty(exits);
        Assert.Contains("SIGINT received: stopping cleanly", err.ToString());
        signals.OnSignal("SIGTERM");
        Assert.Equal([130], exits);
        Assert.Contains("SIGTERM received again: exiting now", err.ToString());
    }

    [Fact]
    public async Task A_command_still_running_when_the_grace_period_ends_is_exited_with_130()
    {
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var err = new StringWriter();
        using var signals = new TerminationSignals(TextWriter.Synchronized(err), code => exited.TrySetResult(code)) { GracePeriod = TimeSpan.FromMilliseconds(200) };
        signals.OnSignal("SIGTERM");
        Assert.False(exited.Task.IsCompleted);
        Assert.Equal(130, await exited.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("did not stop within the grace period of 0.2 s", err.ToString());
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("soon")]
    public async Task A_bad_grace_period_is_invalid_input(string value)
    {
        var err = new StringWriter();
        using var signals = new TerminationSignals(err, _ => { });
        var ctx = new CliContext { Out = new StringWriter(), Error = err, Environment = _ => null, IsTerminal = false, Signals = signals };
        Assert.Equal(2, await new CliApp(ctx).RunAsync(["plan", "--weight", "5", "--rps", "10", "--grace-period", value]));
    }

    [Fact]
    public async Task The_grace_period_option_sets_the_grace_period()
    {
        using var signals = new TerminationSignals(new StringWriter(), _ => { });
        var ctx = new CliContext { Out = new StringWriter(), Error = new StringWriter(), Environment = _ => null, IsTerminal = false, Signals = signals };
        Assert.Equal(0, await new CliApp(ctx).RunAsync(["plan", "--weight", "5", "--rps", "10", "--grace-period", "00:00:03"]));
        Assert.Equal(TimeSpan.FromSeconds(3), signals.GracePeriod);
    }
}
