using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.Server;

public class KubernetesClientAgainstSandboxTests : IAsyncLifetime
{
    private SandboxServerFixture _f = null!;

    public async Task InitializeAsync() => _f = await SandboxServerFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private static JsonObject ConfigMap(string name, string value = "1") => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "shop" } },
        ["data"] = new JsonObject { ["weight"] = value },
    };

    [Fact]
    public async Task A_weight_style_json_patch_is_exactly_one_http_request()
    {
        await using var client = _f.Client();
        var cm = await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("route"));
        var before = client.RequestCount;
        var patched = await client.PatchAsync(ResourceType.ConfigMap, "web", "route", new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
            JsonPatchOperation.Replace("/data/weight", "10"),
        ]));
        Assert.Equal(1, client.RequestCount - before);
        Assert.Equal("10", patched["data"]!["weight"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stale_patch_fails_without_retrying()
    {
        await using var client = _f.Client();
        var cm = await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("route"));
        await client.PatchAsync(ResourceType.ConfigMap, "web", "route", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["weight"] = "5" } }));
        var before = client.RequestCount;
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => client.PatchAsync(ResourceType.ConfigMap, "web", "route", new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", cm["metadata"]!["resourceVersion"]!.GetValue<string>()),
            JsonPatchOperation.Replace("/data/weight", "10"),
        ])));
        Assert.True(e.IsInvalid);
        Assert.Equal(1, client.RequestCount - before);
        Assert.Equal("5", _f.Cluster.Peek(ResourceType.ConfigMap, "web", "route")!["data"]!["weight"]!.GetValue<string>());

        var stale = cm.DeepClone().AsObject();
        stale["data"]!["weight"] = "99";
        var conflict = await Assert.ThrowsAsync<KubernetesApiException>(() => client.ReplaceAsync(ResourceType.ConfigMap, "web", "route", stale));
        Assert.True(conflict.IsConflict);
        Assert.Equal(StatusReason.Conflict, conflict.Reason);
    }

    [Fact]
    public async Task Too_many_requests_is_retried_after_retry_after_and_succeeds()
    {
        var delays = new RecordingDelays();
        await using var client = _f.Client(delays);
        await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("route"));
        _f.Cluster.InjectFault("GET", "configmaps", "route", count: 2, status: 429);
        var before = client.RequestCount;
        var cm = await client.GetAsync(ResourceType.ConfigMap, "web", "route");
        Assert.Equal("route", cm["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal(3, client.RequestCount - before);
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)], delays.Delays);
    }

    [Fact]
    public async Task A_failed_create_is_not_blindly_retried_into_a_duplicate()
    {
        await using var client = _f.Client();
        _f.Cluster.InjectFault("CREATE", "configmaps", "a", status: 500);
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("a")));
        Assert.Equal(500, e.StatusCode);
        Assert.Single(_f.Cluster.Log, l => l == "CREATE configmaps/a");

        // The connection drops after the server applied the create: the client reads the object back instead of re-sending.
        _f.Cluster.InjectFault("CREATE", "configmaps", "b", status: 0, afterApply: true);
        var created = await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("b"));
        Assert.Equal("b", created["metadata"]!["name"]!.GetValue<string>());
        Assert.Single(_f.Cluster.Log, l => l == "CREATE configmaps/b");
        Assert.Single(_f.Cluster.PeekAll(ResourceType.ConfigMap, "web"), c => c["metadata"]!["name"]!.GetValue<string>() == "b");
    }

    [Fact]
    public async Task Unauthorized_errors_contain_no_part_of_the_token()
    {
        const string secret = "s3cr3t-t0ken-ABCDEF0123456789";
        var log = new List<string>();
        var connection = KubeConfigResolver.Resolve(_f.Kubeconfig);
        connection.Configuration.AccessToken = secret;
        await using var client = new KubernetesClientAdapter(connection, log: log.Add);
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => client.GetAsync(ResourceType.ConfigMap, "web", "x"));
        Assert.Equal(StatusReason.Unauthorized, e.Reason);
        foreach (var text in new[] { e.Message, e.ToString(), client.ToString(), connection.ToString(), string.Join("\n", log) })
        {
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain(secret[..8], text);
        }
        Assert.DoesNotContain(_f.Server.Token, KubeConfigResolver.Resolve(_f.Kubeconfig).ToString());
    }

    [Fact]
    public async Task List_pages_with_continue_and_filters_by_label()
    {
        await using var client = _f.Client();
        for (var i = 0; i < 7; i++) await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap($"cm-{i}"));
        var other = ConfigMap("other");
        other["metadata"]!["labels"]!["app"] = "cart";
        await client.CreateAsync(ResourceType.ConfigMap, "web", other);
        var page = await client.ListAsync(ResourceType.ConfigMap, "web", new ListOptions(Limit: 3));
        Assert.Equal(3, page.Items.Count);
        Assert.NotNull(page.Continue);
        var all = await client.ListAllAsync(ResourceType.ConfigMap, "web", "app=shop", pageSize: 3);
        Assert.Equal(7, all.Count);
        Assert.Empty((await client.ListAsync(ResourceType.ConfigMap, "web", new ListOptions("app in (cart),app!=cart"))).Items);
    }

    [Fact]
    public async Task Delete_preconditions_and_not_found_are_typed()
    {
        await using var client = _f.Client();
        var cm = await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("d"));
        var e = await Assert.ThrowsAsync<KubernetesApiException>(() => client.DeleteAsync(ResourceType.ConfigMap, "web", "d", new DeleteOptions(PreconditionUid: "wrong")));
        Assert.True(e.IsConflict);
        await client.DeleteAsync(ResourceType.ConfigMap, "web", "d", new DeleteOptions(PreconditionUid: cm["metadata"]!["uid"]!.GetValue<string>()));
        var gone = await Assert.ThrowsAsync<KubernetesApiException>(() => client.GetAsync(ResourceType.ConfigMap, "web", "d"));
        Assert.True(gone.IsNotFound);
        Assert.Equal(new ObjectReference(ResourceType.ConfigMap, "web", "d"), gone.Target);
    }

    [Fact]
    public async Task Scale_subresource_and_discovery_work()
    {
        await using var client = _f.Client();
        await client.CreateAsync(ResourceType.Deployment, "web", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "shop" },
            ["spec"] = new JsonObject { ["replicas"] = 2, ["template"] = new JsonObject() },
        });
        var scale = await client.PatchSubresourceAsync(ResourceType.Deployment, "web", "shop", "scale",
            new MergePatch(new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 5 } }));
        Assert.Equal(5, scale["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(5, (await client.GetSubresourceAsync(ResourceType.Deployment, "web", "shop", "scale"))["spec"]!["replicas"]!.GetValue<int>());
        _f.Cluster.CustomTypes.Add(new ResourceType("networking.istio.io", "v1", "virtualservices", "VirtualService"));
        var discovery = await client.DiscoverAsync();
        Assert.True(discovery.Serves("networking.istio.io", "virtualservices"));
        Assert.True(discovery.Serves("apps", "v1", "deployments"));
        Assert.False(discovery.Serves("split.smi-spec.io", "trafficsplits"));
    }

    [Fact]
    public async Task Watch_sees_changes_after_the_initial_list()
    {
        await using var client = _f.Client();
        await client.CreateAsync(ResourceType.ConfigMap, "web", ConfigMap("w"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<WatchEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in client.WatchAsync(ResourceType.ConfigMap, "web", null, cts.Token))
            {
                seen.Add(e);
                if (seen.Count == 2) break;
            }
        });
        while (seen.Count == 0 && !cts.IsCancellationRequested) await Task.Delay(20);
        await Task.Delay(200);
        await client.PatchAsync(ResourceType.ConfigMap, "web", "w", new MergePatch(new JsonObject { ["data"] = new JsonObject { ["weight"] = "2" } }));
        await watching.WaitAsync(cts.Token);
        Assert.Equal(WatchEventType.Added, seen[0].Type);
        Assert.Equal(WatchEventType.Modified, seen[1].Type);
        Assert.Equal("2", seen[1].Object["data"]!["weight"]!.GetValue<string>());
    }
}
