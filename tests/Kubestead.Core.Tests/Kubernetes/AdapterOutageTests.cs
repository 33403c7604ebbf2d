using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;

namespace Kubestead.Core.Tests.Kubernetes;

/// <summary>
/// The adapter against an API server (the sandbox's, over loopback HTTP) that fails for minutes of virtual time: the
/// client rides the outage out, gives up only after its budget with a message that says so, and fails fast against a
/// server that never answered.
/// </summary>
public sealed class AdapterOutageTests : IAsyncLifetime
{
    private readonly EmulatedCluster _cluster = new();
    private readonly string _kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-outage-{Guid.NewGuid():N}.yaml");
    private SandboxApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _cluster.Seed(ResourceType.Namespace, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "web" } });
        _server = await SandboxApiServer.StartAsync(_cluster);
        _server.WriteKubeconfig(_kubeconfig, "web");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private static JsonObject ConfigMap(string name) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name }, ["data"] = new JsonObject { ["weight"] = "20" },
    };

    private (KubernetesClientAdapter Client, VirtualClock Clock) Connect(RetryPolicy? retry = null)
    {
        var clock = new VirtualClock(new DateTimeOffset(2026, 12, 5, 20, 0, 0, TimeSpan.Zero), autoAdvance: true);
        return (new KubernetesClientAdapter(KubeConfigResolver.Resolve(_kubeconfig), clock, retry), clock);
    }

    [Fact]
    public async Task A_read_rides_out_minutes_of_503s_from_a_server_that_answered_before()
    {
        var (client, clock) = Connect();
        await using var _ = client;
        await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("state"));
        _cluster.InjectFault("GET", "configmaps", "state", count: 20, status: 503);
        var before = clock.GetUtcNow();

        var cm = await client.GetAsync(ResourceType.ConfigMap, "web", "state");

        Assert.Equal("20", cm["data"]!["weight"]!.GetValue<string>());
        Assert.True(clock.GetUtcNow() - before > TimeSpan.FromMinutes(1), $"only {clock.GetUtcNow() - before} of outage");
    }

    [Fact]
    public async Task A_guarded_write_rides_out_a_throttling_burst_and_an_unguarded_one_is_re_sent_only_after_429()
    {
        var (client, _) = Connect();
        await using var _c = client;
        var created = await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("state"));
        _cluster.InjectFault("PATCH", "configmaps", "state", count: 30, status: 429); // 30 x Retry-After 2 s: a minute of throttling
        var patched = await client.PatchAsync(ResourceType.ConfigMap, "web", "state", new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", created["metadata"]!["resourceVersion"]!.GetValue<string>()),
            JsonPatchOperation.Replace("/data/weight", "60"),
        ]));
        Assert.Equal("60", patched["data"]!["weight"]!.GetValue<string>());

        _cluster.InjectFault("CREATE", "configmaps", "other", count: 1, status: 500);
        await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("other")));
        Assert.Single(_cluster.Log, l => l == "CREATE configmaps/other");
    }

    [Fact]
    public async Task When_the_budget_runs_out_the_error_says_how_long_the_server_failed()
    {
        var (client, clock) = Connect(new RetryPolicy(Budget: TimeSpan.FromMinutes(2)));
        await using var _ = client;
        await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("state"));
        _cluster.InjectFault("GET", "configmaps", "state", count: 10_000, status: 503);
        var before = clock.GetUtcNow();

        var e = await Assert.ThrowsAsync<ApiServerUnavailableException>(() => client.GetAsync(ResourceType.ConfigMap, "web", "state"));

        Assert.Equal(TimeSpan.FromMinutes(2), clock.GetUtcNow() - before);
        Assert.Equal(TimeSpan.FromMinutes(2), e.Outage);
        Assert.True(e.IsUnavailable);
        Assert.Contains("configmaps/state", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"still failing after {e.Attempts} attempts over 2m", e.Message);
    }

    [Fact]
    public async Task A_server_that_never_answered_fails_within_seconds_not_after_the_budget()
    {
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there any more: connection refused
        var connection = KubeConfigResolver.Resolve(_kubeconfig);
        connection.Configuration.Host = $"http://127.0.0.1:{port}";
        var clock = new VirtualClock(new DateTimeOffset(2026, 12, 5, 20, 0, 0, TimeSpan.Zero), autoAdvance: true);
        await using var client = new KubernetesClientAdapter(connection, clock);

        var e = await Assert.ThrowsAsync<ApiServerUnavailableException>(() => client.GetAsync(ResourceType.ConfigMap, "web", "state"));

        Assert.True(clock.GetUtcNow() - new DateTimeOffset(2026, 12, 5, 20, 0, 0, TimeSpan.Zero) <= TimeSpan.FromSeconds(3));
        Assert.InRange(e.Attempts, 2, 3);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("cannot reach the API server", e.Message);
    }
}
