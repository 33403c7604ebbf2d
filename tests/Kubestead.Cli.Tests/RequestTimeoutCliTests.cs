using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue 27 item 2: a server that accepts connections and never answers. Every request is bounded, the command ends
/// as "unavailable" naming the server, and --request-timeout (kubectl's name) sets the bound. Duration options take
/// kubectl's forms and are refused by name, never with a .NET type name (issue 26 item 11).
/// </summary>
public sealed class RequestTimeoutCliTests : IDisposable
{
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _accepted = new();
    private readonly string _kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-silent-{Guid.NewGuid():N}.yaml");

    public RequestTimeoutCliTests()
    {
        _silent.Start();
        _ = AcceptForeverAsync();
        var port = ((IPEndPoint)_silent.LocalEndpoint).Port;
        File.WriteAllText(_kubeconfig, $"""
            apiVersion: v1
            kind: Config
            current-context: silent
            clusters: [{"{"} name: silent, cluster: {"{"} server: "http://127.0.0.1:{port}" {"}"} {"}"}]
            users: [{"{"} name: u, user: {"{"} token: not-a-real-token {"}"} {"}"}]
            contexts: [{"{"} name: silent, context: {"{"} cluster: silent, user: u, namespace: shop {"}"} {"}"}]
            """);
        Port = port;
    }

    private int Port { get; }

    /// <summary>Accepts every connection and reads nothing and writes nothing: the request waits for ever.</summary>
    private async Task AcceptForeverAsync()
    {
        try
        {
            while (true)
            {
                var client = await _silent.AcceptTcpClientAsync();
                lock (_accepted) _accepted.Add(client);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _silent.Stop();
        lock (_accepted) _accepted.ForEach(c => c.Dispose());
        File.Delete(_kubeconfig);
    }

    private async Task<(int Code, string Out, string Err, TimeSpan Took)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var ctx = new CliContext { Out = output, Error = error, Environment = _ => null, IsTerminal = false };
        var watch = Stopwatch.StartNew();
        // The bound of the test itself: without a request timeout the command would never return.
        var run = Task.Run(() => new CliApp(ctx).RunAsync(args));
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, $"the command still hung after 60 s: {error}");
        return (await run, output.ToString(), error.ToString(), watch.Elapsed);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_reported_unavailable_within_the_request_timeout()
    {
        var (code, _, err, took) = await RunAsync("status", "shop", "--kubeconfig", _kubeconfig, "--request-timeout", "1s");

        Assert.Equal(1, code);
        Assert.Contains("unavailable", err);
        Assert.Contains($"127.0.0.1:{Port}", err);
        Assert.Contains("did not answer within 1s", err);
        Assert.DoesNotContain("not-a-real-token", err);
        Assert.True(took < TimeSpan.FromSeconds(15), $"took {took}");
    }

    [Theory]
    [InlineData("--request-timeout", "soon")]
    [InlineData("--outage-budget", "-5m")]
    public async Task A_duration_that_is_not_one_is_refused_naming_the_option(string option, string value)
    {
        var (code, _, err, _) = await RunAsync("status", "shop", "--kubeconfig", _kubeconfig, option, value);

        Assert.Equal(2, code);
        Assert.Contains($"{option}: '{value}' is not a duration", err);
        Assert.DoesNotContain("System.", err);
    }

    [Fact]
    public async Task Wait_timeout_takes_kubectl_durations_and_names_itself_when_wrong()
    {
        var (code, _, err, _) = await RunAsync("wait", "shop", "--kubeconfig", _kubeconfig, "--timeout", "5x");
        Assert.Equal(2, code);
        Assert.Contains("--timeout: '5x' is not a duration; use e.g. 30s, 5m", err);
        Assert.DoesNotContain("TimeSpan", err);

        // 5s parses: the command then gets as far as the (silent) server.
        var parsed = await RunAsync("wait", "shop", "--kubeconfig", _kubeconfig, "--timeout", "5s", "--request-timeout", "1s");
        Assert.Equal(1, parsed.Code);
        Assert.Contains("did not answer within 1s", parsed.Err);
    }
}
