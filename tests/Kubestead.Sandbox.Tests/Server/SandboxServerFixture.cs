using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>A sandbox API server on a free loopback port with one ConfigMap, and a kubeconfig file for it.</summary>
public sealed class SandboxServerFixture : IAsyncDisposable
{
    public EmulatedCluster Cluster { get; } = new();
    public SandboxApiServer Server { get; private set; } = null!;
    public string Kubeconfig { get; } = Path.Combine(Path.GetTempPath(), $"kubestead-sandbox-{Guid.NewGuid():N}.yaml");

    public static async Task<SandboxServerFixture> StartAsync()
    {
        var f = new SandboxServerFixture();
        f.Cluster.Seed(ResourceType.Namespace, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "web" } });
        f.Server = await SandboxApiServer.StartAsync(f.Cluster);
        f.Server.WriteKubeconfig(f.Kubeconfig, "web");
        return f;
    }

    /// <summary>A client for the sandbox whose waits complete at once but are recorded.</summary>
    public KubernetesClientAdapter Client(RecordingDelays? delays = null, string? token = null)
    {
        var connection = KubeConfigResolver.Resolve(Kubeconfig);
        if (token is not null) connection.Configuration.AccessToken = token;
        return new KubernetesClientAdapter(connection, delays ?? new RecordingDelays(), new RetryPolicy(4, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5)));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        File.Delete(Kubeconfig);
    }
}

/// <summary>A clock whose timers fire at once (so retries do not sleep) and that records every delay asked for.</summary>
public sealed class RecordingDelays : TimeProvider
{
    public List<TimeSpan> Delays { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (Delays) Delays.Add(dueTime);
        return new ImmediateTimer(callback, state, dueTime);
    }

    private sealed class ImmediateTimer : ITimer
    {
        public ImmediateTimer(TimerCallback callback, object? state, TimeSpan due)
        {
            if (due != Timeout.InfiniteTimeSpan) ThreadPool.QueueUserWorkItem(_ => callback(state));
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
