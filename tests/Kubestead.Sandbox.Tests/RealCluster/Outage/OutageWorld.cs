using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>
/// One outage test's world: its own kube-apiserver, a namespace with the Istio subset fixtures, a readiness controller,
/// and a driver on the wall clock (an outage happens in wall time) whose connection the test may route through a proxy.
/// </summary>
public sealed class OutageWorld : IAsyncDisposable
{
    /// <summary>Weight 20, a short pause that ends inside the outage, weight 60, promotion: the driver must write during it.</summary>
    public const string Steps = """
          steps:
            - setWeight: 20
            - pause: { duration: 10s }
            - setWeight: 60
            - pause: { duration: 5s }
        """;

    private readonly List<IAsyncDisposable> _owned = new();

    private OutageWorld(PrivateApiServer server, IKubernetesApi admin, string ns)
    {
        Server = server;
        Admin = admin;
        Namespace = ns;
        Readiness = new ReadinessController(admin, ns);
    }

    public PrivateApiServer Server { get; }
    public IKubernetesApi Admin { get; }
    public string Namespace { get; }
    public ReadinessController Readiness { get; }

    /// <summary>Verbose lines of the driver's client: one per request, "connection failed" when it got no answer.</summary>
    public List<string> DriverRequests { get; } = new();

    public static async Task<OutageWorld> CreateAsync()
    {
        var server = await PrivateApiServer.StartAsync();
        var admin = RealCluster.Connect(server.Kubeconfig, RealCluster.Admin);
        var world = new OutageWorld(server, admin, await RealCluster.CreateNamespaceAsync(admin, "outage"));
        foreach (var (type, obj) in MeshFixtures.IstioSubsetObjects())
        {
            var copy = obj.DeepClone().AsObject();
            copy["metadata"]!["namespace"] = world.Namespace;
            await admin.CreateAsync(type, world.Namespace, copy);
        }
        return world;
    }

    /// <summary>The driver, as `kubestead start` builds it, optionally talking through <paramref name="proxy"/>.</summary>
    public KubesteadService Driver(FaultingApiProxy? proxy = null)
    {
        var connection = KubeConfigResolver.Resolve(Server.Kubeconfig, RealCluster.Admin, Namespace);
        if (proxy is not null)
        {
            connection.Configuration.Host = proxy.Address.ToString();
            connection.Configuration.AccessToken = Server.AdminToken;
        }
        var client = new KubernetesClientAdapter(connection, TimeProvider.System, log: line =>
        {
            lock (DriverRequests) DriverRequests.Add(line);
        });
        var service = new KubesteadService(client, new KubesteadServiceOptions
        {
            Clock = TimeProvider.System,
            Driver = new DriverIdentity("outage-driver", "realcluster-test", null, "outage-driver"),
            LeaseDuration = TimeSpan.FromMinutes(10),
        });
        _owned.Add(service);
        _owned.Add(client);
        return service;
    }

    public Task<RolloutResult> StartAsync(KubesteadService driver) =>
        Task.Run(() => driver.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(Namespace, Steps) }, wait: true));

    /// <summary>Waits (in wall time, reading directly) until the canary has its first share.</summary>
    public async Task WaitForCanaryShareAsync(Task<RolloutResult> driving)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (driving.IsCompleted) await driving; // surfaces a driver that failed before the outage
            try
            {
                var cm = await Admin.GetAsync(ResourceType.ConfigMap, Namespace, RolloutStateStore.ObjectName("reviews"));
                var status = System.Text.Json.Nodes.JsonNode.Parse(cm["data"]![RolloutStateStore.StatusKey]!.GetValue<string>())!;
                if (status["canaryWeight"]?.GetValue<double>() >= 20) return;
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the canary never got its first share");
    }

    /// <summary>The driver's own result, bounded so a hung driver fails the test instead of hanging the suite.</summary>
    public static async Task<RolloutResult> FinishAsync(Task<RolloutResult> driving, TimeSpan within)
    {
        var done = await Task.WhenAny(driving, Task.Delay(within));
        Assert.True(done == driving, $"the driver had not finished {within} after the outage");
        return await driving;
    }

    public int FailedDriverRequests
    {
        get
        {
            lock (DriverRequests) return DriverRequests.Count(l => l.Contains("connection failed", StringComparison.Ordinal));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var o in _owned) await o.DisposeAsync();
        await Readiness.DisposeAsync();
        if (Admin is IAsyncDisposable d) await d.DisposeAsync();
        Server.Dispose();
    }
}
