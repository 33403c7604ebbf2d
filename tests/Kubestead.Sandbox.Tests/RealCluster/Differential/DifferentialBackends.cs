using Kubestead.Kubernetes;
using Kubestead.Sandbox.Schema;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Server;

namespace Kubestead.Sandbox.Tests.RealCluster.Differential;

/// <summary>
/// The two backends of the differential suite: the sandbox served over HTTP (with the real CRDs of ../shared/crds,
/// namespaces required, no emulated controllers, an admin and a read-only credential) and the real kube-apiserver
/// (its admin and limited contexts). Both are reached through the same client, so only the servers differ.
/// </summary>
public sealed class DifferentialBackends : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"kubestead-diff-{Guid.NewGuid():N}");
    private SandboxApiServer? _server;
    private (IKubernetesApi Admin, IKubernetesApi Limited)? _sandbox;
    private (IKubernetesApi Admin, IKubernetesApi Limited)? _real;

    public static string CrdDirectory => Path.GetFullPath(Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "..", "shared", "crds"));

    public async Task InitializeAsync()
    {
        var cluster = new EmulatedCluster { RequireNamespaces = true, EmulateControllers = false };
        if (Directory.Exists(CrdDirectory))
            foreach (var file in Directory.GetFiles(CrdDirectory, "*.yaml").Order(StringComparer.Ordinal))
                cluster.RegisterCrd(CrdDocument.Load(file));
        _server = await SandboxApiServer.StartAsync(cluster);
        Directory.CreateDirectory(_dir);
        _server.WriteKubeconfig(Path.Combine(_dir, "admin"));
        _server.WriteKubeconfig(Path.Combine(_dir, "limited"), readOnly: true);
        _sandbox = (RealCluster.Connect(Path.Combine(_dir, "admin"), null), RealCluster.Connect(Path.Combine(_dir, "limited"), null));
    }

    public async Task<ScenarioContext> SandboxAsync()
    {
        var (admin, limited) = _sandbox!.Value;
        return new ScenarioContext(admin, limited, await RealCluster.CreateNamespaceAsync(admin, "diff"));
    }

    public async Task<ScenarioContext> RealAsync()
    {
        _real ??= (await RealCluster.ConnectAsync(RealCluster.Admin), await RealCluster.ConnectAsync(RealCluster.Limited));
        var (admin, limited) = _real.Value;
        return new ScenarioContext(admin, limited, await RealCluster.CreateNamespaceAsync(admin, "diff"));
    }

    public async Task DisposeAsync()
    {
        foreach (var api in new[] { _sandbox?.Admin, _sandbox?.Limited, _real?.Admin, _real?.Limited })
            if (api is IAsyncDisposable d) await d.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
