using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Simulation;

namespace Kubestead.Sandbox.Demo;

/// <summary>What a demo run ended with, plus the simulated traffic totals.</summary>
public sealed record DemoResult(
    RolloutResult Rollout,
    DemoScenario Scenario,
    long StableRequests,
    long StableFailures,
    long CanaryRequests,
    long CanaryFailures,
    TimeSpan SimulatedDuration,
    int ApiRequests,
    int ApiWrites)
{
    /// <summary>Every write the rollout made (verb and object), in order: what the control-plane cost tests count.</summary>
    public IReadOnlyList<string> WriteLog { get; init; } = [];

    /// <summary>Requests (and failures) a created baseline served; 0 without one.</summary>
    public long BaselineRequests { get; init; }

    public long BaselineFailures { get; init; }

    /// <summary>Baseline objects still in the cluster when the demo ended (Deployment, Service, Istio subset or destination).</summary>
    public IReadOnlyList<string> BaselineLeftovers { get; init; } = [];
}

/// <summary>
/// The sandbox demo: the shop service on an emulated cluster, simulated traffic, and a real rollout by the real engine
/// on a virtual clock, from a spec in examples/sandbox.
/// </summary>
public static class SandboxDemo
{
    public static readonly string[] Meshes = ["istio", "linkerd", "smi", "none", "nginx", "linkerd1"];

    /// <param name="crdDirectory">When given, the CRDs in it are registered and every write is validated strictly against them.</param>
    /// <summary>Meshes whose demo can run with a created baseline (examples/sandbox/&lt;mesh&gt;-baseline.yaml).</summary>
    public static readonly string[] BaselineMeshes = Specs.RolloutSpecParser.BaselineMeshes;

    /// <summary>The demo with a created baseline: examples/sandbox/&lt;mesh&gt;-baseline.yaml.</summary>
    public static Task<DemoResult> RunWithBaselineAsync(string mesh, string scenarioName, IRolloutObserver observer, int seed = 1, CancellationToken ct = default)
    {
        CheckBaselineMesh(mesh);
        return RunAsync(mesh, scenarioName, DemoSpecs.For($"{mesh}-baseline"), observer, seed, ct, specName: $"{mesh}-baseline");
    }

    /// <summary>Meshes whose demo has a load-test spec (examples/sandbox/&lt;mesh&gt;-load-test.yaml).</summary>
    public static readonly string[] LoadTestMeshes = ["istio"];

    /// <summary>
    /// The demo's spec with a load test for quiet canaries. Only istio has one: its header route carries the synthetic
    /// requests to the canary and its metrics can tell them apart (docs/load-tests.md).
    /// </summary>
    public static string LoadTestSpec(string mesh) => LoadTestMeshes.Contains(mesh)
        ? DemoSpecs.For($"{mesh}-load-test")
        : throw new KubesteadException("LoadTestNotSupported", KubesteadErrorKind.InvalidInput,
            $"--load-test: the {mesh} demo has no load-test spec (meshes with one: {string.Join(", ", LoadTestMeshes)}); the load test needs a header route and metrics that tell synthetic requests apart");

    /// <summary>Refuses a demo mesh that cannot route a created baseline, saying why.</summary>
    public static void CheckBaselineMesh(string mesh)
    {
        if (!BaselineMeshes.Contains(mesh))
            throw new KubesteadException("BaselineNotSupported", KubesteadErrorKind.InvalidInput,
                $"--baseline: the {mesh} demo has no created baseline (meshes with one: {string.Join(", ", BaselineMeshes)}); " +
                (mesh == "nginx" ? "ingress-nginx splits a host between two Ingresses only" : mesh == "linkerd1" ? "the Linkerd 1.x router writes a two-way dtab" : "pick another --mesh"));
    }

    public static async Task<DemoResult> RunAsync(string mesh, string scenarioName, string specYaml, IRolloutObserver observer, int seed = 1,
        CancellationToken ct = default, string? crdDirectory = null, string? specName = null)
    {
        // The fixture is built for one mesh: a spec for another would drive objects the sandbox never created.
        if (Kubestead.Specs.RolloutSpecParser.Parse(specYaml, "shop").Spec is { } parsed && parsed.MeshProvider != mesh)
            throw new KubesteadException("SpecMeshMismatch", KubesteadErrorKind.InvalidInput,
                $"spec.meshProvider is '{parsed.MeshProvider}' but the sandbox runs mesh '{mesh}': use --mesh {parsed.MeshProvider} or a spec for {mesh}");
        var env = SandboxEnvironment.Create(mesh, scenarioName, seed, crdDirectory);
        var start = env.Clock.GetUtcNow();
        await using var service = env.CreateService(observer);
        // Run on the thread pool so that the virtual clock's timer callbacks never run inline on the caller's context.
        var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = specYaml, SpecPath = $"examples/sandbox/{specName ?? mesh}.yaml" }, wait: true, ct), ct)
            .ConfigureAwait(false);
        env.Traffic.CatchUp();
        var (sr, sf, cr, cf) = env.Traffic.Simulator.Totals();
        var log = env.Cluster.Log.ToList();
        var (br, bf) = env.Traffic.Simulator.BaselineTotals();
        return new DemoResult(result, env.Scenario, sr, sf, cr, cf, env.Clock.GetUtcNow() - start, log.Count, env.Cluster.Writes.Count)
        {
            WriteLog = env.Cluster.Writes,
            BaselineRequests = br,
            BaselineFailures = bf,
            BaselineLeftovers = ShopFixture.BaselineLeftovers(env.Cluster),
        };
    }
}

/// <summary>
/// The shop service on an emulated cluster with simulated traffic and a virtual clock: what the demo, the CLI tests
/// and the cmdlets' sandbox run on.
/// </summary>
public sealed record SandboxEnvironment(string Mesh, DemoScenario Scenario, TimeProvider Clock, EmulatedCluster Cluster, SimulatedTraffic Traffic)
{
    /// <param name="clock">Null: a virtual clock that jumps to each wait (the demo); TimeProvider.System for a sandbox people use live.</param>
    /// <param name="podReadyDelay">How long changed Deployments' pods take to become ready; null: 20 s on the virtual clock, 3 s live.</param>
    public static SandboxEnvironment Create(string mesh, string scenarioName, int seed = 1, string? crdDirectory = null, TimeProvider? clock = null,
        TimeSpan? podReadyDelay = null) => Create(mesh, DemoScenario.Get(scenarioName), seed, crdDirectory, clock, podReadyDelay);

    /// <summary>The sandbox with a scenario of the caller's own (a test's traffic rate and versions' behaviour).</summary>
    public static SandboxEnvironment Create(string mesh, DemoScenario scenario, int seed = 1, string? crdDirectory = null, TimeProvider? clock = null,
        TimeSpan? podReadyDelay = null)
    {
        if (!SandboxDemo.Meshes.Contains(mesh)) throw new ArgumentException($"unknown mesh '{mesh}'; use one of: {string.Join(", ", SandboxDemo.Meshes)}", nameof(mesh));
        clock ??= new VirtualClock(new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero), autoAdvance: true);
        var cluster = new EmulatedCluster(clock, podReadyDelay: podReadyDelay ?? TimeSpan.FromSeconds(clock is VirtualClock ? 20 : 3)) { DefaultNamespace = ShopFixture.Namespace, RequireNamespaces = true, StrictSchemas = crdDirectory is not null };
        if (crdDirectory is not null)
            foreach (var file in Directory.GetFiles(crdDirectory, "*.yaml").Order(StringComparer.Ordinal))
                cluster.RegisterCrd(Kubestead.Sandbox.Schema.CrdDocument.Load(file));
        ShopFixture.Seed(cluster, mesh);
        var simulator = new TrafficSimulator(
            new TrafficProfile(scenario.RequestsPerSecond, mesh == "none" ? SimulatedRouting.Pods : SimulatedRouting.Random, scenario.Stable, scenario.Canary,
                ClientConnections: 40, ConnectionLifetime: TimeSpan.FromSeconds(30), Seed: seed),
            clock.GetUtcNow())
        {
            StableWorkload = ShopFixture.Name, CanaryWorkload = $"{ShopFixture.Name}-canary", Namespace = ShopFixture.Namespace, Service = ShopFixture.Name,
            BaselineWorkload = ShopFixture.BaselineDeployment,
        };
        // Linkerd 1.x routes by a dtab in namerd, outside the cluster.
        var namerd = mesh == "linkerd1" ? new Namerd.EmulatedNamerd() : null;
        namerd?.Seed(ShopFixture.DtabNamespace, ShopFixture.Dtab);
        var traffic = new SimulatedTraffic(cluster, clock, ShopFixture.Reader(cluster, mesh, namerd), simulator);
        if (namerd is not null) namerd.Changed += _ => traffic.OnRoutingChanged();
        return new SandboxEnvironment(mesh, scenario, clock, cluster, traffic) { Namerd = namerd };
    }

    /// <summary>The emulated namerd (meshProvider linkerd1), reached in-process through <see cref="CreateService"/>.</summary>
    public Namerd.EmulatedNamerd? Namerd { get; init; }

    /// <summary>
    /// Tells drivers in other processes where the simulated metrics are served: specs with the <c>simulated</c> metric
    /// provider then read them from there (see <see cref="Kubestead.Metrics.Simulated.ClusterServedSimulatorProvider.SimulatorConfigMap"/>).
    /// </summary>
    public void PublishPrometheusAddress(Uri address) => Cluster.Seed(Kubestead.Kubernetes.ResourceType.ConfigMap, new System.Text.Json.Nodes.JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = Kubestead.Metrics.Simulated.ClusterServedSimulatorProvider.SimulatorConfigMap, ["namespace"] = ShopFixture.Namespace },
        ["data"] = new System.Text.Json.Nodes.JsonObject { [Kubestead.Metrics.Simulated.ClusterServedSimulatorProvider.SimulatorAddressKey] = address.ToString() },
    });

    public KubesteadService CreateService(IRolloutObserver observer, string driver = "demo") => new(Cluster, new KubesteadServiceOptions
    {
        Clock = Clock,
        Observer = observer,
        Driver = new DriverIdentity(driver, "sandbox", null, driver),
        PollInterval = TimeSpan.FromSeconds(30),
        Metrics = Traffic.Metrics,
        LoadGenerator = Traffic.LoadGenerator,
        NamerdHandler = Namerd is null ? null : new Namerd.EmulatedNamerdHandler(Namerd),
    });
}

/// <summary>The demo specs shipped inside the sandbox assembly (copies of examples/sandbox/*.yaml).</summary>
public static class DemoSpecs
{
    public static string For(string mesh)
    {
        using var stream = typeof(DemoSpecs).Assembly.GetManifestResourceStream($"sandbox/{mesh}.yaml")
                           ?? throw new ArgumentException($"no demo spec for mesh '{mesh}'; use one of: {string.Join(", ", SandboxDemo.Meshes)}", nameof(mesh));
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
