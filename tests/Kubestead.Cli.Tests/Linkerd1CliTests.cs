using System.Text.RegularExpressions;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Sandbox.Demo;
using Kubestead.Specs;

namespace Kubestead.Cli.Tests;

public class Linkerd1CliTests
{
    private static readonly string Spec = Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "examples", "sandbox", "linkerd1.yaml");

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    private static IEnumerable<string> Puts(SandboxEnvironment env) => env.Namerd!.Log.Where(l => l.StartsWith("PUT", StringComparison.Ordinal));

    [Fact]
    public async Task Header_route_set_prints_the_l5d_dtab_header_and_writes_nothing_to_namerd()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        Assert.Equal(0, (await Run(env, "start", "-f", Spec, "--no-wait", "-n", "shop")).Code);
        var dtab = env.Namerd!.Peek(ShopFixture.DtabNamespace);

        var dry = await Run(env, "header-route", "set", "shop", "-n", "shop", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", dry.Out);

        var set = await Run(env, "header-route", "set", "shop", "-n", "shop");
        Assert.Equal(0, set.Code);
        Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", set.Out);
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));

        // -o json: the header as a field, for scripts.
        var json = await Run(env, "header-route", "set", "shop", "-n", "shop", "--route", "other", "-o", "json");
        Assert.Equal(0, json.Code);
        Assert.Equal("/svc/shop => /env/prod/shop-canary", System.Text.Json.Nodes.JsonNode.Parse(json.Out)!["requestHeaders"]!["l5d-dtab"]!.GetValue<string>());
        var status = await Run(env, "status", "shop", "-n", "shop", "-o", "json");
        Assert.Null(System.Text.Json.Nodes.JsonNode.Parse(status.Out)!["requestHeaders"]); // only where a header route was just set
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));
    }

    [Fact]
    public async Task The_header_route_result_carries_the_header_to_send_and_other_meshes_carry_none()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecPath = Spec }, wait: false));
        var putsBefore = Puts(env).Count();
        var r = await Task.Run(() => svc.SetHeaderRouteAsync("shop", "shop", new HeaderRouteRequest("testers", "x-canary", "true", HeaderMatchType.Exact)));
        Assert.Equal("/svc/shop => /env/prod/shop-canary", Assert.Single(r.RequestHeaders!, h => h.Key == "l5d-dtab").Value);
        Assert.Equal(putsBefore, Puts(env).Count());

        var istio = SandboxEnvironment.Create("istio", "healthy");
        await using var isvc = istio.CreateService(NullRolloutObserver.Instance);
        await Task.Run(() => isvc.StartAsync(new StartRequest { SpecPath = Spec.Replace("linkerd1.yaml", "istio.yaml") }, wait: false));
        Assert.Null((await Task.Run(() => isvc.SetHeaderRouteAsync("shop", "shop", new HeaderRouteRequest("testers", "x-canary", "true", HeaderMatchType.Exact)))).RequestHeaders);
    }

    [Fact]
    public async Task Start_dry_run_names_namerd_the_dtab_namespace_and_each_steps_dentry_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var dtab = env.Namerd!.Peek(ShopFixture.DtabNamespace);
        var dry = await Run(env, "start", "-f", Spec, "-n", "shop", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("append the dentry '/svc/shop => 100 * /env/prod/shop & 0 * /env/prod/shop-canary' to the dtab 'shop' of namerd at http://127.0.0.1:4180/", dry.Out);
        // examples/sandbox/linkerd1.yaml: setWeight 5, 25, 50.
        Assert.Contains("step 1: setWeight 5% (namerd dtab 'shop': /svc/shop => 95 * /env/prod/shop & 5 * /env/prod/shop-canary, one compare-and-set)", dry.Out);
        Assert.Contains("step 3: setWeight 25% (namerd dtab 'shop': /svc/shop => 75 * /env/prod/shop & 25 * /env/prod/shop-canary", dry.Out);
        Assert.Contains("step 5: setWeight 50% (namerd dtab 'shop': /svc/shop => 50 * /env/prod/shop & 50 * /env/prod/shop-canary", dry.Out);
        Assert.DoesNotContain("(namerd dtab", dry.Out.Split('\n').Single(l => l.Contains("step 2:", StringComparison.Ordinal)));
        Assert.Empty(Puts(env));
        Assert.Equal(dtab, env.Namerd.Peek(ShopFixture.DtabNamespace));
    }

    [Fact]
    public async Task Gitops_emits_no_rule_for_a_routing_object_and_says_the_dtab_lives_in_namerd()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        Assert.Equal(0, (await Run(env, "start", "-f", Spec, "--no-wait", "-n", "shop")).Code);
        var g = await Run(env, "gitops", "shop", "-n", "shop");
        Assert.Equal(0, g.Code);
        // One line in the Argo CD part and one in the Flux part.
        Assert.Equal(2, Regex.Matches(g.Out, "# Routing: the dtab lives in namerd \\(http://127.0.0.1:4180/, dtab namespace 'shop', dentry /svc/shop\\)").Count);
        var kinds = Regex.Matches(g.Out, @"(?m)^    kind: (\w+)$").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["Deployment"], kinds); // the Argo CD entry; no HTTPRoute, TrafficSplit, Service or Dtab
        Assert.DoesNotContain("/spec/replicas", g.Out); // Kubestead never scales stable with linkerd1
        Assert.Contains("target: { group: apps, kind: Deployment, name: shop, namespace: shop }", g.Out);
    }

    [Fact]
    public async Task Plan_for_linkerd1_explains_relative_dentry_weights()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var plan = await Run(env, "plan", "--weight", "0.25", "--rps", "100", "--mesh", "linkerd1");
        Assert.Equal(0, plan.Code);
        Assert.Contains("namerd dentry weights are relative integers", plan.Out);
        var row = plan.Out.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["0.25%", "0.25%", "0.01%"], row[..3]); // requested, achievable (not rounded to whole percents), minimum
    }

    [Fact]
    public async Task Start_with_an_image_refuses_linkerd1_naming_spec_linkerd1_and_writes_nothing()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var writes = env.Cluster.Writes.Count;
        var r = await Run(env, "start", "--name", "shop", "--image", "registry.example.com/shop:2", "--mesh", "linkerd1", "-n", "shop");
        Assert.NotEqual(0, r.Code);
        Assert.Contains("meshProvider linkerd1 needs spec.linkerd1", r.Err);
        Assert.Equal(writes, env.Cluster.Writes.Count);
        Assert.Empty(Puts(env));
    }

    [Fact]
    public async Task New_spec_for_linkerd1_scaffolds_a_valid_spec_with_the_io_l5d_k8s_paths()
    {
        var env = SandboxEnvironment.Create("linkerd1", "healthy");
        var r = await Run(env, "new-spec", "shop", "--mesh", "linkerd1", "-n", "shop");
        Assert.Equal(0, r.Code);
        var parsed = RolloutSpecParser.Parse(r.Out, "scaffold.yaml");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var l = parsed.Spec!.Linkerd1!;
        Assert.Equal("/svc/shop", l.Prefix);
        Assert.Equal("/#/io.l5d.k8s/shop/http/shop-canary", l.CanaryDestination);
        Assert.Equal("shop-canary", l.CanaryService);
        Assert.Contains("spec.linkerd1 is a guess", r.Out);
    }

    /// <summary>
    /// Across processes, as Start-KubesteadSandbox and a user do: `kubestead sandbox --mesh linkerd1` says where its namerd
    /// listens (the line Start-KubesteadSandbox parses), and a rollout whose spec names it shifts, routes by header and
    /// promotes through it.
    /// </summary>
    [Fact]
    public async Task A_rollout_in_another_process_drives_the_sandboxes_served_namerd()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kubestead-l1-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var kubeconfig = Path.Combine(dir, "kubeconfig.yaml");
            using var sandbox = ChildProcess.Start(["sandbox", "--mesh", "linkerd1", "--kubeconfig-out", kubeconfig]);
            await sandbox.WaitForOutputAsync(l => l.StartsWith("Emulated namerd", StringComparison.Ordinal), TimeSpan.FromSeconds(180), "the namerd line");
            // The form Start-KubesteadSandbox (SandboxCmdlets.cs) parses.
            var m = Regex.Match(sandbox.Out, @"(?m)^Emulated namerd \(dtab namespace '[^']*'\) at (?<address>http://\S+?);");
            Assert.True(m.Success, sandbox.Out);
            var namerd = m.Groups["address"].Value;
            Assert.DoesNotContain(":4180/", namerd); // a free port, so two sandboxes never share one namerd
            var spec = Path.Combine(dir, "rollout.yaml");
            File.WriteAllText(spec, File.ReadAllText(Spec).Replace("http://127.0.0.1:4180", namerd.TrimEnd('/')));
            string[] A(params string[] a) => [.. a, "--kubeconfig", kubeconfig, "-n", "shop"];
            var t = TimeSpan.FromSeconds(90);

            Assert.Equal(0, (await ChildProcess.RunAsync(A("start", "-f", spec, "--no-wait"), t)).Code);
            Assert.Equal(0, (await ChildProcess.RunAsync(A("set-weight", "shop", "10"), t)).Code);
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Accept.ParseAdd("application/dtab");
            Assert.Contains("/svc/shop => 90 * /env/prod/shop & 10 * /env/prod/shop-canary", await http.GetStringAsync(namerd + "api/1/dtabs/shop"));
            var header = await ChildProcess.RunAsync(A("header-route", "set", "shop"), t);
            Assert.Equal(0, header.Code);
            Assert.Contains("l5d-dtab: /svc/shop => /env/prod/shop-canary", header.Out);
            var promote = await ChildProcess.RunAsync(A("promote", "shop"), t);
            Assert.True(promote.Code == 0, promote.Out + promote.Err);
            Assert.DoesNotContain("/env/prod/shop-canary", await http.GetStringAsync(namerd + "api/1/dtabs/shop"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
