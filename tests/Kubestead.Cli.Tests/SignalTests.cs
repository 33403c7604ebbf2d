using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Cancellation the way CI runners and Kubernetes send it: real signals to a real `kubestead` process (stdin not a
/// terminal) driving a rollout on a real `kubestead sandbox` process, on the wall clock.
/// </summary>
public class SignalTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    /// <summary>A short real-time rollout: its pause and its analysis window each last long enough to be interrupted.</summary>
    private const string Spec = """
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: { name: shop, namespace: shop }
        spec:
          service: shop
          meshProvider: istio
          istio:
            virtualService: { name: shop, route: primary }
            destinationRule: { name: shop }
          stable: { deployment: shop }
          canary: { image: registry.example.com/shop:2.0.0 }
          scaleDownDelay: 0s
          steps:
            - setWeight: 50
            - pause: { duration: 6s }
            - analysis: { duration: 10s }
          analysis:
            interval: 5s
            metrics:
              - name: success-rate
                provider: { simulated: {} }
                judge: { threshold: { successRate: 90 } }
          policies: { onInsufficientData: pause, onMetricErrors: pause }
        """;

    /// <summary>A running `kubestead sandbox` child and the files a test needs beside it.</summary>
    private sealed class Sandbox : IDisposable
    {
        private Sandbox(ChildProcess process, string dir)
        {
            Process = process;
            Directory = dir;
        }

        public ChildProcess Process { get; }
        public string Directory { get; }
        public string Kubeconfig => Path.Combine(Directory, "kubeconfig.yaml");
        public string SpecPath => Path.Combine(Directory, "rollout.yaml");

        public static async Task<Sandbox> StartAsync(bool ignoreSigint = false)
        {
            var dir = Path.Combine(Path.GetTempPath(), "kubestead-signals-" + Guid.NewGuid().ToString("n")[..8]);
            System.IO.Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "rollout.yaml"), Spec);
            var process = ChildProcess.Start(["sandbox", "--kubeconfig-out", Path.Combine(dir, "kubeconfig.yaml")], ignoreSigint);
            var sandbox = new Sandbox(process, dir);
            await process.WaitForOutputAsync(l => l.Contains("Try: KUBECONFIG=", StringComparison.Ordinal), TimeSpan.FromSeconds(180), "the sandbox's ready line");
            Assert.True(File.Exists(sandbox.Kubeconfig));
            return sandbox;
        }

        public string[] Args(params string[] args) => [.. args, "--kubeconfig", Kubeconfig, "-n", "shop"];

        public void Dispose()
        {
            Process.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Theory]
    [InlineData(ChildProcess.Sigterm, "pause")]
    [InlineData(ChildProcess.Sigint, "pause")]
    [InlineData(ChildProcess.Sigquit, "pause")]
    [InlineData(ChildProcess.Sigterm, "analysis")]
    [InlineData(ChildProcess.Sigint, "analysis")]
    public async Task A_signal_stops_start_with_130_and_releases_the_lease_so_another_process_resumes_at_once(int signal, string during)
    {
        using var sandbox = await Sandbox.StartAsync();
        using var start = ChildProcess.Start(sandbox.Args("start", "-f", sandbox.SpecPath, "--grace-period", "00:00:10", "--verbose"));
        await start.WaitForOutputAsync(l => l.Contains($": {during}", StringComparison.Ordinal) && l.Contains("left", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), $"a wait in the {during} step");

        var clock = Stopwatch.StartNew();
        start.Signal(signal);
        Assert.True(await start.WaitForExitAsync(Grace + TimeSpan.FromSeconds(5)), $"start did not exit after the signal:\n{start.Out}\n{start.Err}");
        var stoppedIn = clock.Elapsed;
        Assert.True(stoppedIn < Grace, $"start took {stoppedIn} to stop");
        Assert.Equal(130, start.ExitCode);
        Assert.Contains("received: stopping cleanly", start.Err);
        Assert.Contains("lease kubestead-shop released", start.Out + start.Err, StringComparison.Ordinal);

        var status = await ChildProcess.RunAsync(sandbox.Args("status", "shop", "-o", "json"), TimeSpan.FromSeconds(60));
        Assert.Equal(0, status.Code);
        var doc = JsonNode.Parse(status.Out)!;
        Assert.Equal("progressing", doc["phase"]!.GetValue<string>());
        Assert.Contains("was cancelled at step", doc["message"]!.GetValue<string>());

        // At once, from another process: a lease still held would refuse it for a minute.
        var resume = await ChildProcess.RunAsync(sandbox.Args("resume", "shop", "-o", "json"), TimeSpan.FromSeconds(90));
        Assert.True(resume.Code == 0, $"resume exited {resume.Code}:\n{resume.Out}\n{resume.Err}");
        Assert.Equal("completed", JsonNode.Parse(resume.Out)!["phase"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(ChildProcess.Sigterm, false)]
    [InlineData(ChildProcess.Sigint, false)]
    [InlineData(ChildProcess.Sigint, true)] // started in the background by a shell: SIGINT ignored at exec
    public async Task The_sandbox_stops_on_a_signal_and_leaves_no_kubeconfig(int signal, bool ignoreSigint)
    {
        using var sandbox = await Sandbox.StartAsync(ignoreSigint);
        sandbox.Process.Signal(signal);
        // The promise is 5 s on a quiet machine (bench/ territory); the test allows a loaded CI host 30 s, far below the
        // sandbox's unbounded life without the handler.
        Assert.True(await sandbox.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"the sandbox still runs 30 s after the signal:\n{sandbox.Process.Err}");
        Assert.False(File.Exists(sandbox.Kubeconfig), "the sandbox left its kubeconfig behind");
    }

    [Fact]
    public async Task The_sandbox_serves_simulated_metrics_so_an_outside_start_runs_to_the_end()
    {
        using var sandbox = await Sandbox.StartAsync();
        var start = await ChildProcess.RunAsync(sandbox.Args("start", "-f", sandbox.SpecPath, "-o", "json"), TimeSpan.FromSeconds(90));
        Assert.True(start.Code == 0, $"start exited {start.Code}:\n{start.Out}\n{start.Err}");
        var doc = JsonNode.Parse(start.Out)!;
        Assert.Equal("completed", doc["phase"]!.GetValue<string>());
        var verdict = doc["analysis"]!.AsArray()[0]!;
        Assert.Equal("pass", verdict["outcome"]!.GetValue<string>(), ignoreCase: true);
        Assert.True(verdict["canaryRequests"]!.GetValue<long>() > 0);
    }

    /// <summary>A cluster that stops answering makes the clean stop slow (its last writes wait for their own timeout).</summary>
    private static async Task<(ChildProcess Start, StallingProxy Proxy)> StartBehindStallingProxyAsync(Sandbox sandbox, string gracePeriod)
    {
        var kubeconfig = File.ReadAllText(sandbox.Kubeconfig);
        var server = kubeconfig.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("server:", StringComparison.Ordinal))["server:".Length..].Trim();
        var proxy = new StallingProxy(new Uri(server));
        var viaProxy = Path.Combine(sandbox.Directory, "via-proxy.yaml");
        File.WriteAllText(viaProxy, kubeconfig.Replace(server, proxy.Address.ToString().TrimEnd('/'), StringComparison.Ordinal));
        var start = ChildProcess.Start(["start", "-f", sandbox.SpecPath, "--kubeconfig", viaProxy, "-n", "shop", "--grace-period", gracePeriod]);
        await start.WaitForOutputAsync(l => l.Contains(": pause", StringComparison.Ordinal), TimeSpan.FromSeconds(180), "a wait in the pause step");
        proxy.Stall();
        return (start, proxy);
    }

    [Fact]
    public async Task A_second_SIGTERM_exits_at_once_while_the_clean_stop_is_still_waiting()
    {
        using var sandbox = await Sandbox.StartAsync();
        var (start, proxy) = await StartBehindStallingProxyAsync(sandbox, "00:00:30");
        await using (proxy)
        using (start)
        {
            start.Signal(ChildProcess.Sigterm);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.False(start.HasExited, "the clean stop should still be waiting for the stalled cluster");
            start.Signal(ChildProcess.Sigterm);
            // The clean stop would wait out its 30 s grace period; ending well inside it proves the second signal cut it short.
            Assert.True(await start.WaitForExitAsync(TimeSpan.FromSeconds(20)), $"a second SIGTERM did not end it:\n{start.Err}");
            Assert.Equal(130, start.ExitCode);
            Assert.Contains("received again: exiting now", start.Err);
        }
    }

    [Fact]
    public async Task Without_progress_the_process_exits_when_the_grace_period_ends()
    {
        using var sandbox = await Sandbox.StartAsync();
        var (start, proxy) = await StartBehindStallingProxyAsync(sandbox, "00:00:02");
        await using (proxy)
        using (start)
        {
            var clock = Stopwatch.StartNew();
            start.Signal(ChildProcess.Sigterm);
            Assert.True(await start.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"still running:\n{start.Err}");
            // The release's own timeout is 5 s; the 2 s grace period ends it first, which the message below proves (the
            // lower bound shows it did wait; no upper bound, so a loaded CI host cannot fail it).
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"exited after {clock.Elapsed}, before the 2 s grace period");
            Assert.Equal(130, start.ExitCode);
            Assert.Contains("did not stop within the grace period", start.Err);
        }
    }
}
