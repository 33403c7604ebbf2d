using System.Net;
using System.Text.Json.Nodes;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// deploy/ as a pod would run it, short of the image: the built `kubestead` runs with the Deployment's own args and env
/// (listen address aside: a free loopback port), in-cluster (a mounted ServiceAccount token, no kubeconfig), as the
/// ServiceAccount of deploy/serviceaccount.yaml bound to deploy/'s namespaced Role and heartbeat Role on the real
/// kube-apiserver. A rollout handed over by `start --detach` is driven to Completed under exactly those rights.
/// </summary>
public sealed class ControllerInClusterRealServerTests : IDisposable
{
    private static readonly ResourceType ServiceAccount = new("", "v1", "serviceaccounts", "ServiceAccount");
    private static readonly ResourceType Role = new("rbac.authorization.k8s.io", "v1", "roles", "Role");
    private static readonly ResourceType RoleBinding = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding");

    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-controller-pod-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ResourceType TypeOf(string kind) => kind switch
    {
        "ServiceAccount" => ServiceAccount,
        "Role" => Role,
        "RoleBinding" => RoleBinding,
        _ => throw new InvalidOperationException($"not applied by this test: {kind}"),
    };

    /// <summary>The Deployment's container args and env, with the listen address moved to a free loopback port.</summary>
    private static (List<string> Args, Dictionary<string, string> Env) ContainerOf(JsonObject deployment, string podName)
    {
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var args = container["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        var listen = args.IndexOf("--listen-address");
        Assert.True(listen >= 0 && args[listen + 1] == "0.0.0.0:8080", "the Deployment's probes reach the endpoint only on 0.0.0.0:8080");
        args[listen + 1] = "127.0.0.1:0";
        var env = new Dictionary<string, string>();
        foreach (var e in container["env"]!.AsArray())
            env[e!["name"]!.GetValue<string>()] = e["valueFrom"]?["fieldRef"]?["fieldPath"]?.GetValue<string>() == "metadata.name" ? podName : e["value"]!.GetValue<string>();
        return (args, env);
    }

    [InClusterFact]
    public async Task The_deployments_controller_in_cluster_under_the_namespaced_role_drives_a_detached_rollout_to_completed()
    {
        IKubernetesApi admin = RealApiServer.Connect(RealApiServer.Kubeconfig, "admin");
        var home = await RealApiServer.CreateNamespaceAsync(admin, "kshome", maxLength: 15);
        var team = await RealApiServer.CreateNamespaceAsync(admin, "ksteam", maxLength: 15);
        var names = new Dictionary<string, string> { ["kubestead-system"] = home, ["web"] = team };
        foreach (var file in new[] { "serviceaccount.yaml", "rbac-heartbeat.yaml", "rbac-namespaced.yaml" })
            foreach (var doc in DeployManifests.Documents(file, names))
                await admin.CreateAsync(TypeOf(doc["kind"]!.GetValue<string>()), doc["metadata"]!["namespace"]!.GetValue<string>(), doc);
        var account = DeployManifests.Single("serviceaccount.yaml", "ServiceAccount")["metadata"]!["name"]!.GetValue<string>();
        var token = await ServiceAccountToken.RequestAsync(home, account);

        var sa = Directory.CreateDirectory(Path.Combine(_dir, "sa")).FullName;
        File.WriteAllText(Path.Combine(sa, "token"), token);
        File.WriteAllText(Path.Combine(sa, "namespace"), home);
        File.Copy(ServiceAccountToken.KitFile("pki", "ca.crt"), Path.Combine(sa, "ca.crt"));
        var port = File.ReadAllLines(ServiceAccountToken.KitFile("env")).Select(l => l.Replace("export ", "").Split('=', 2))
            .First(kv => kv[0] == "KUBE_APISERVER_PORT")[1].Trim('"', '\'');

        const string app = "shop";
        await admin.CreateAsync(ResourceType.Deployment, team, ControllerTestApp.Deployment(team, app));
        await admin.CreateAsync(ResourceType.Service, team, ControllerTestApp.Service(team, app));
        await using var readiness = new ReadinessController(admin, team);

        const string pod = "kubestead-controller-7d9f8-abcde";
        var (args, env) = ContainerOf(DeployManifests.Single("deployment.yaml", "Deployment"), pod);
        // The namespaced variant, as deploy/README.md says: the Deployment's args plus the namespaces it drives.
        args.AddRange(["--watch-namespace", team, "--lease-duration", "10s", "--verbose"]);
        using var controller = ChildProcess.StartInPod(args, sa, port, Directory.CreateDirectory(Path.Combine(_dir, "home")).FullName, env);
        try
        {
            // The heartbeat lands in the pod's own namespace (its service account's namespace file), named after POD_NAME.
            await WaitUntilAsync(async () => (await admin.ListAsync(ResourceType.Lease, home, new ListOptions(ControllerHeartbeat.Selector))).Items
                .Any(l => l["metadata"]!["name"]!.GetValue<string>() == ControllerHeartbeat.NameFor(pod)), "the heartbeat", controller);
            await WaitUntilAsync(async () => (await ControllerScrape.GetAsync(controller, "/readyz")).Status == HttpStatusCode.OK, "/readyz answers 200", controller);
            Assert.Equal(HttpStatusCode.OK, (await ControllerScrape.GetAsync(controller, "/healthz")).Status);

            await using (var ci = new KubesteadService(RealApiServer.Connect(RealApiServer.Kubeconfig, "admin"),
                             new KubesteadServiceOptions { Driver = new DriverIdentity("ci", "runner", null, "ci") }))
            {
                var spec = ControllerTestApp.RolloutSpec(team, app, readyTimeout: "1m", pause: "2s", scaleDownDelay: "0s");
                var started = await ci.StartAsync(new StartRequest { SpecYaml = spec, Detach = true, ControllerNamespace = home }, wait: false);
                Assert.Equal(RolloutPhase.Progressing, started.Phase);
            }

            var store = new RolloutStateStore(admin);
            await WaitUntilAsync(async () => (await store.LoadAsync(team, app)).Status is { Phase: RolloutPhase.Completed, CleanupDone: true },
                "the rollout completed", controller);
            var state = await store.LoadAsync(team, app);
            var driver = new DriverIdentity("controller", pod, null, pod).ToString();
            Assert.Contains(state.Status.History, h => h.Kind == "complete" && h.Driver == driver);
            Assert.Single(state.Status.History, h => h.Kind == "setWeight");
            await Assert.ThrowsAsync<KubernetesApiException>(() => admin.GetAsync(ResourceType.Deployment, team, app + "-canary"));
            var stable = await admin.GetAsync(ResourceType.Deployment, team, app);
            Assert.Equal("registry.example.com/shop:2.0.0", stable["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
            // Events written under the Role's events rule.
            var events = (await admin.ListAsync(Kubestead.Events.KubernetesEventRecorder.EventType, team)).Items;
            Assert.Contains(events, e => e["reason"]?.GetValue<string>() == "RolloutCompleted");
            // Nothing refused: every call the controller made was within the Roles.
            // (This caught the Lease watch's first list, which the Role once left out.)
            var refused = (controller.Out + controller.Err).Split('\n').Where(l => l.Contains("forbidden", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(refused.Count == 0, "refused under deploy/'s Roles:\n" + string.Join("\n", refused.Take(5)));

            // SIGTERM (what the kubelet sends) drains: exit 0 and the heartbeat is gone.
            controller.Signal(ChildProcess.Sigterm);
            Assert.True(await controller.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the controller did not stop on SIGTERM:\n" + controller.Out + controller.Err);
            Assert.Equal(0, controller.ExitCode);
            Assert.Empty((await admin.ListAsync(ResourceType.Lease, home, new ListOptions(ControllerHeartbeat.Selector))).Items);
            Assert.DoesNotContain(token, controller.Out + controller.Err);
        }
        finally
        {
            if (!controller.HasExited) controller.Signal(9);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, ChildProcess controller)
    {
        var until = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTimeOffset.UtcNow < until)
        {
            try
            {
                if (await condition()) return;
            }
            catch (InvalidOperationException) when (!controller.HasExited)
            {
                // Not listening yet (no controller.listening line).
            }
            if (controller.HasExited) break;
            await Task.Delay(250);
        }
        Assert.Fail($"not within 2 minutes: {what} (exited: {controller.HasExited}); controller output:\n{controller.Out}\n{controller.Err}");
    }
}
