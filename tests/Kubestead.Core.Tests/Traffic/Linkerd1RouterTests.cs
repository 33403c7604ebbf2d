using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Cluster;
using Kubestead.Sandbox.Namerd;
using Kubestead.Traffic;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Core.Tests.Traffic;

public sealed class Linkerd1RouterTests : IAsyncLifetime
{
    private const string Original = """
        # prod routing, reviewed by the platform team
        /k8s        => /#/io.l5d.k8s/prod/http ;
        /env/prod   => /k8s | /#/io.l5d.fs ;   # fall back to files
        /svc        => /env/prod ;
        /svc/search => 3 * /env/prod/search & 1 * /env/prod/search-v9 ;
        """ + "\n";

    private readonly EmulatedNamerd _namerd = new();
    private EmulatedNamerdServer _server = null!;
    private readonly EmulatedCluster _cluster = new();

    public async Task InitializeAsync()
    {
        _namerd.Seed("prod", Original);
        _server = await EmulatedNamerdServer.StartAsync(_namerd);
        _cluster.Seed(ResourceType.Service, JsonNode.Parse("""
            {"metadata":{"name":"users","namespace":"web"},"spec":{"selector":{"app":"users","version":"stable"},"ports":[{"name":"http","port":80,"targetPort":8080}]}}
            """)!.AsObject());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Linkerd1Router Router(HttpMessageHandler? handler = null, string ns = "prod", string prefix = "/svc/users") =>
        new(_cluster, new NamerdClient(handler is null ? new HttpClient() : new HttpClient(handler), _server.Address),
            new Linkerd1RouterOptions("web", "users", "users", "users-canary", new Dictionary<string, string> { ["version"] = "canary" },
                _server.Address, ns, prefix, "/env/prod/users", "/env/prod/users-v2"));

    private int Puts => _namerd.Log.Count(l => l.StartsWith("PUT", StringComparison.Ordinal));

    [Fact]
    public async Task Only_Kubesteads_dentry_is_added_reweighted_and_removed_and_every_other_byte_stays()
    {
        var router = Router();
        Assert.Equal("127.0.0.1", _server.Address.Host);
        await router.ValidateAsync();
        await router.PrepareAsync();
        Assert.Equal(Original + "/svc/users => 100 * /env/prod/users & 0 * /env/prod/users-v2;\n", _namerd.Peek("prod"));
        var puts = Puts;
        var split = await router.SetCanaryWeightAsync(0.5);
        Assert.Equal(1, Puts - puts);
        Assert.Equal(0.5, split.CanaryPercent, 9);
        Assert.Equal(Original + "/svc/users => 995 * /env/prod/users & 5 * /env/prod/users-v2;\n", _namerd.Peek("prod"));
        await router.SetCanaryWeightAsync(30);
        Assert.Equal(Original + "/svc/users => 70 * /env/prod/users & 30 * /env/prod/users-v2;\n", _namerd.Peek("prod"));
        Assert.Null(await router.DetectDriftAsync(await router.GetSplitAsync()));
        await router.CleanupAsync();
        Assert.Equal(Original, _namerd.Peek("prod"));
        Assert.Null(_cluster.Peek(ResourceType.Service, "web", "users-canary"));
    }

    [Fact]
    public async Task A_stale_version_is_a_conflict_the_dtab_is_read_again_and_the_other_writers_change_survives()
    {
        var handler = new EmulatedNamerdHandler(_namerd);
        var router = Router(handler);
        await router.PrepareAsync();
        var interfered = false;
        handler.BeforeSend = req =>
        {
            // Someone else writes between Kubestead's read and its compare-and-set, once.
            if (req.Method != HttpMethod.Put || interfered) return;
            interfered = true;
            _namerd.Seed("prod", _namerd.Peek("prod")!.Replace("/svc        => /env/prod ;", "/svc        => /env/prod | /env/dr ;"));
        };
        await router.SetCanaryWeightAsync(10);
        Assert.True(interfered);
        var now = _namerd.Peek("prod")!;
        Assert.Contains("/svc        => /env/prod | /env/dr ;", now);
        Assert.EndsWith("/svc/users => 90 * /env/prod/users & 10 * /env/prod/users-v2;\n", now);
        Assert.Contains(_namerd.Log, l => l == "PUT /api/1/dtabs/prod");
    }

    [Fact]
    public async Task The_compare_and_set_answers_412_on_a_stale_version_and_writes_nothing()
    {
        var client = new NamerdClient(new HttpClient(), _server.Address);
        var read = (await client.TryGetAsync("prod", default))!;
        await client.PutAsync("prod", read.Text + "/x => /y;\n", read.Version, default);
        var e = await Assert.ThrowsAsync<NamerdException>(() => client.PutAsync("prod", read.Text + "/z => /w;\n", read.Version, default));
        Assert.True(e.IsVersionConflict);
        Assert.Equal(KubesteadErrorKind.Conflict, e.Kind);
        Assert.DoesNotContain("/z => /w", _namerd.Peek("prod"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_write_interrupted_before_or_after_namerd_applied_it_converges_on_retry(bool applied)
    {
        var handler = new EmulatedNamerdHandler(_namerd);
        var router = Router(handler);
        void Cut(HttpRequestMessage req)
        {
            if (req.Method == HttpMethod.Put) throw new HttpRequestException("connection reset (simulated crash)");
        }
        if (applied) handler.AfterApply = (req, _) => Cut(req);
        else handler.BeforeSend = Cut;
        // The add of the dentry and a weight change are both cut off.
        await Assert.ThrowsAsync<NamerdException>(() => router.PrepareAsync());
        await Assert.ThrowsAsync<NamerdException>(() => router.SetCanaryWeightAsync(20));
        handler.AfterApply = null;
        handler.BeforeSend = null;
        // A new process retries from the top: one dentry, the right weights, everything else unchanged.
        var retry = Router(handler);
        await retry.PrepareAsync();
        await retry.SetCanaryWeightAsync(20);
        var doc = DtabDocument.Parse(_namerd.Peek("prod")!);
        Assert.Single(doc.Entries, e => e.Dentry.Prefix == "/svc/users");
        Assert.Equal(Original + "/svc/users => 80 * /env/prod/users & 20 * /env/prod/users-v2;\n", _namerd.Peek("prod"));
        await retry.CleanupAsync();
        Assert.Equal(Original, _namerd.Peek("prod"));
    }

    [Fact]
    public async Task An_edit_to_Kubesteads_dentry_or_a_later_dentry_with_its_prefix_is_drift()
    {
        var router = Router();
        await router.PrepareAsync();
        var written = await router.SetCanaryWeightAsync(25);
        _namerd.Seed("prod", _namerd.Peek("prod")!.Replace("75 * /env/prod/users & 25 *", "50 * /env/prod/users & 50 *"));
        var drift = await router.DetectDriftAsync(written);
        Assert.NotNull(drift);
        Assert.Equal("/svc/users => 75 * /env/prod/users & 25 * /env/prod/users-v2", drift.Fields.Single().Expected);
        Assert.Equal("/svc/users => 50 * /env/prod/users & 50 * /env/prod/users-v2", drift.Fields.Single().Actual);
        Assert.Equal("dtabs.namerd.linkerd.io/prod", drift.Target.ToString());

        _namerd.Seed("prod", _namerd.Peek("prod")!.Replace("50 * /env/prod/users & 50 *", "75 * /env/prod/users & 25 *") + "/svc/users => /env/prod/users-hotfix;\n");
        drift = await router.DetectDriftAsync(written);
        Assert.Contains("takes precedence", Assert.Single(drift!.Fields).Path);

        _namerd.Seed("prod", Original);
        drift = await router.DetectDriftAsync(written);
        Assert.Null(Assert.Single(drift!.Fields).Actual);
    }

    [Fact]
    public async Task A_hand_rewritten_canary_dentry_is_refused_and_nothing_is_written()
    {
        _namerd.Seed("prod", Original + "/svc/users => /env/prod/users-v2;\n");
        var router = Router();
        var puts = Puts;
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => router.SetCanaryWeightAsync(10));
        Assert.Equal("DtabDentryChanged", e.ErrorId);
        Assert.Equal(puts, Puts);
    }

    [Fact]
    public async Task The_header_route_writes_nothing_and_says_which_l5d_dtab_header_to_send()
    {
        var router = Router();
        await router.PrepareAsync();
        var before = _namerd.Peek("prod");
        var puts = Puts;
        await router.SetHeaderRouteAsync(HeaderRoute.Default("testers"));
        await router.RemoveHeaderRouteAsync("testers");
        Assert.Equal(puts, Puts);
        Assert.Equal(before, _namerd.Peek("prod"));
        Assert.Equal("/svc/users => /env/prod/users-v2", router.HeaderValue);
        Assert.Contains("l5d-dtab: /svc/users => /env/prod/users-v2", router.HeaderRouteInstructions(HeaderRoute.Default("testers")));
    }

    [Fact]
    public async Task The_plan_names_the_compare_and_set_and_writes_nothing()
    {
        var router = Router();
        var plan = await router.PlanSetCanaryWeightAsync(0.01);
        var write = Assert.Single(plan);
        Assert.Equal("put", write.Verb);
        Assert.Equal(NamerdClient.DtabMediaType, write.ContentType);
        Assert.Equal(Original + "/svc/users => 9999 * /env/prod/users & 1 * /env/prod/users-v2;\n", write.Body!.GetValue<string>());
        Assert.Contains("If-Match: ", write.Description);
        Assert.Equal(0, Puts);
    }

    [Fact]
    public async Task Validation_names_the_field_for_a_missing_namespace_an_unrouted_prefix_and_an_unreachable_namerd()
    {
        var e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(ns: "nope").ValidateAsync());
        Assert.Contains("spec.linkerd1.namespace", e.Message);
        e = await Assert.ThrowsAsync<TrafficRoutingException>(() => Router(prefix: "/http/1.1/GET/users").ValidateAsync());
        Assert.Contains("spec.linkerd1.prefix", e.Message);

        var closed = new NamerdClient(new HttpClient(), new Uri("http://127.0.0.1:1/"));
        var down = new Linkerd1Router(_cluster, closed, new Linkerd1RouterOptions("web", "users", "users", "users-canary",
            new Dictionary<string, string> { ["version"] = "canary" }, closed.Address, "prod", "/svc/users", "/env/prod/users", "/env/prod/users-v2"));
        var u = await Assert.ThrowsAsync<NamerdException>(() => down.ValidateAsync());
        Assert.Equal(KubesteadErrorKind.Unavailable, u.Kind);
        Assert.Equal(0, Puts);
    }

    [Fact]
    public async Task A_namerd_that_stores_parsed_dtabs_keeps_order_and_weights_but_not_comments()
    {
        var parsed = new EmulatedNamerd { StoreParsed = true };
        parsed.Seed("prod", Original);
        var router = new Linkerd1Router(_cluster, new NamerdClient(new HttpClient(new EmulatedNamerdHandler(parsed)), new Uri("http://namerd:4180/")),
            new Linkerd1RouterOptions("web", "users", "users", "users-canary", new Dictionary<string, string> { ["version"] = "canary" },
                new Uri("http://namerd:4180/"), "prod", "/svc/users", "/env/prod/users", "/env/prod/users-v2"));
        var canonical = DtabDocument.Parse(Original).Canonical();
        await router.PrepareAsync();
        await router.SetCanaryWeightAsync(1);
        Assert.Equal(canonical + "/svc/users => 99 * /env/prod/users & 1 * /env/prod/users-v2;\n", parsed.Peek("prod"));
        await router.CleanupAsync();
        Assert.Equal(canonical, parsed.Peek("prod"));
    }

    [Fact]
    public async Task The_JSON_form_carries_the_same_dentries()
    {
        using var http = new HttpClient();
        var rsp = await http.GetAsync(new Uri(_server.Address, "api/1/dtabs/prod"));
        Assert.Equal("application/json", rsp.Content.Headers.ContentType!.MediaType);
        Assert.True(rsp.Headers.Contains("ETag"));
        var json = JsonNode.Parse(await rsp.Content.ReadAsStringAsync())!;
        Assert.Equal("/env/prod", json[1]!["prefix"]!.GetValue<string>());
        Assert.Equal("/k8s | /#/io.l5d.fs", json[1]!["dst"]!.GetValue<string>());
        Assert.Equal(DtabDocument.Parse(Original).Canonical(), DtabJson.ToText(json));
        var list = await http.GetStringAsync(new Uri(_server.Address, "api/1/dtabs"));
        Assert.Equal("[\"prod\"]", list);
    }

    [Fact]
    public async Task Cleanup_after_the_dtab_namespace_was_deleted_is_done()
    {
        var router = Router();
        await router.PrepareAsync();
        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.DeleteAsync(new Uri(_server.Address, "api/1/dtabs/prod"))).StatusCode);
        await router.CleanupAsync();
        Assert.Null(_namerd.Peek("prod"));
    }
}
