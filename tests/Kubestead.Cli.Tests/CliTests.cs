using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

public class CliTests
{
    private static string Repo => Kubestead.Tests.Shared.RepositoryRoot.Path;

    /// <summary>Runs the CLI in-process against a sandbox environment (the same one the demo uses).</summary>
    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment? env, Dictionary<string, string?>? vars, params string[] args) =>
        InProcessCli.RunAsync(env, vars, args);

    [Theory]
    [InlineData("healthy", 0, "completed")]
    [InlineData("faulty", 3, "aborted")]
    [InlineData("low-traffic", 4, "paused")]
    public async Task Demo_with_mesh_nginx_ends_like_the_other_meshes(string scenario, int exit, string phase)
    {
        var (code, stdout, _) = await Run(null, null, "demo", "--mesh", "nginx", "--scenario", scenario, "--output", "json");
        Assert.Equal(exit, code);
        var doc = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(phase, doc["phase"]!.GetValue<string>());
        Assert.Equal("nginx", doc["meshProvider"]!.GetValue<string>());
        Assert.Equal("nginx", doc["demo"]!["mesh"]!.GetValue<string>());
        if (scenario != "low-traffic") Assert.True(doc["demo"]!["canaryRequests"]!.GetValue<long>() > 0, "no simulated request reached the canary through the canary Ingress");
    }

    [Theory]
    [InlineData("healthy", 0, "completed")]
    [InlineData("faulty", 3, "aborted")]
    [InlineData("low-traffic", 4, "paused")]
    public async Task Demo_exit_codes_and_json_shape(string scenario, int exit, string phase)
    {
        var (code, stdout, _) = await Run(null, null, "demo", "--mesh", "istio", "--scenario", scenario, "--output", "json");
        Assert.Equal(exit, code);
        var doc = JsonNode.Parse(stdout)!.AsObject(); // stdout is exactly one JSON document
        Assert.Equal("shop", doc["name"]!.GetValue<string>());
        Assert.Equal("shop", doc["namespace"]!.GetValue<string>());
        Assert.Equal(phase, doc["phase"]!.GetValue<string>());
        Assert.NotNull(doc["steps"]!["count"]);
        Assert.NotNull(doc["weights"]!["stable"]);
        Assert.NotNull(doc["weights"]!["canary"]);
        var verdict = doc["analysis"]!.AsArray()[0]!.AsObject();
        foreach (var field in new[] { "judge", "metric", "outcome", "canaryRequests", "canaryFailures", "controlRequests", "controlFailures", "summary" })
            Assert.True(verdict.ContainsKey(field), $"verdict has no '{field}'");
        Assert.True(doc["history"]!.AsArray().Count > 0);
        if (scenario == "low-traffic") Assert.Equal("insufficientData", doc["pauseReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Start_status_and_abort_against_a_cluster_with_exit_codes()
    {
        var env = SandboxEnvironment.Create("linkerd", "healthy");
        var spec = Path.Combine(Repo, "examples", "sandbox", "linkerd.yaml");
        var (code, stdout, _) = await Run(env, null, "start", "-f", spec, "--no-wait", "-n", "shop");
        Assert.Equal(0, code);
        Assert.Contains("Progressing", stdout);

        var status = await Run(env, null, "status", "shop", "-n", "shop", "-o", "json");
        Assert.Equal(0, status.Code);
        Assert.Equal("progressing", JsonNode.Parse(status.Out)!["phase"]!.GetValue<string>());

        var writes = env.Cluster.Writes.Count;
        var dry = await Run(env, null, "abort", "shop", "-n", "shop", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("Dry run: nothing was written", dry.Out);
        Assert.Contains("httproutes.gateway.networking.k8s.io/shop-kubestead", dry.Out);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var abort = await Run(env, null, "abort", "shop", "-n", "shop");
        Assert.Equal(3, abort.Code);
        Assert.Contains("Aborted", abort.Out);
    }

    [Fact]
    public async Task Invalid_input_exits_2_and_names_the_problem()
    {
        var broken = Path.Combine(AppContext.BaseDirectory, "broken.yaml");
        File.WriteAllText(broken, File.ReadAllText(Path.Combine(Repo, "examples", "istio.yaml")).Replace("setWeight: 5", "setWeight: 500"));
        var validate = await Run(null, null, "validate", "-f", broken);
        Assert.Equal(2, validate.Code);
        Assert.Contains("spec.steps[1].setWeight: 500 is out of range 0..100", validate.Out);

        var env = SandboxEnvironment.Create("istio", "healthy");
        var writes = env.Cluster.Writes.Count;
        var start = await Run(env, null, "start", "-f", broken);
        Assert.Equal(2, start.Code);
        Assert.Contains("InvalidRolloutSpec", start.Err);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var parse = await Run(null, null, "demo", "--mesh", "consul");
        Assert.Equal(2, parse.Code);
        Assert.Contains("kubestead: error:", parse.Err);
    }

    [Fact]
    public async Task Errors_exit_1_with_the_error_id()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var (code, _, stderr) = await Run(env, null, "status", "nope", "-n", "shop");
        Assert.Equal(1, code);
        Assert.Contains("kubestead: error: No rollout 'nope' in namespace 'shop'", stderr);
        Assert.Contains("[RolloutNotFound]", stderr);
    }

    [Fact]
    public async Task GitHub_actions_gets_a_step_summary_and_annotations()
    {
        var summary = Path.Combine(AppContext.BaseDirectory, $"summary-{Guid.NewGuid():N}.md");
        var vars = new Dictionary<string, string?> { ["GITHUB_ACTIONS"] = "true", ["GITHUB_STEP_SUMMARY"] = summary };
        var (code, _, stderr) = await Run(null, vars, "demo", "--scenario", "faulty");
        Assert.Equal(3, code);
        var md = File.ReadAllText(summary);
        Assert.Contains("Kubestead rollout `shop/shop`: Aborted", md);
        // With background analysis (the default) the whole-rollout e-process is what fails the canary.
        Assert.Contains("| error-rate (background, whole rollout) | Fail |", md);
        Assert.Contains("::error title=Rollout shop/shop rolled back::", stderr);
    }

    [Fact]
    public async Task Azure_devops_gets_logging_commands()
    {
        var vars = new Dictionary<string, string?> { ["TF_BUILD"] = "True" };
        var (code, _, stderr) = await Run(null, vars, "demo", "--scenario", "low-traffic");
        Assert.Equal(4, code);
        Assert.Contains("##vso[task.logissue type=warning]", stderr);
        Assert.Contains("##vso[task.complete result=Failed;]paused", stderr); // a paused rollout is not released: later stages must not run
        Assert.Contains("##vso[task.setprogress value=", stderr);
    }

    [Fact]
    public async Task Plan_needs_no_cluster_and_explains_the_replica_minimum()
    {
        var (code, stdout, _) = await Run(null, null, "plan", "--weight", "1", "--rps", "20", "--mesh", "none", "--stable-replicas", "10", "--routing", "pods");
        Assert.Equal(0, code);
        Assert.Contains("about 9.1%", stdout);
        var json = await Run(null, null, "plan", "--weight", "1", "--rps", "2", "--window", "00:05:00", "-o", "json");
        var plan = JsonNode.Parse(json.Out)!;
        Assert.Equal(Math.Exp(-2 * 0.01 * 300), plan["emptyWindowProbability"]!.GetValue<double>(), 9);
    }

    [Fact]
    public async Task Plan_reports_the_window_floor_of_a_pass_beside_the_request_figure()
    {
        // Issue #29 item 8: at 1% a Pass needs at least 79 windows however much traffic each holds (1:19:00 at one minute).
        var (code, stdout, _) = await Run(null, null, "plan", "--weight", "1", "--rps", "200");
        Assert.Equal(0, code);
        Assert.Contains("WINDOWS TO PASS (TIME)", stdout);
        Assert.Contains("79 (1:19:00)", stdout);
        var json = JsonNode.Parse((await Run(null, null, "plan", "--weight", "1", "--rps", "200", "--window", "00:00:15", "-o", "json")).Out)!;
        Assert.Equal(79, json["minimumWindowsForPass"]!.GetValue<long>());
        Assert.Equal("00:19:45", json["minimumTimeForPass"]!.GetValue<string>());
    }

    [Fact]
    public async Task Plan_counts_a_pod_variance_and_refuses_one_out_of_range_naming_the_option()
    {
        // Issue #29: pods whose failure rates differ persistently narrow the Pass test (the band an undecided verdict names).
        var alike = JsonNode.Parse((await Run(null, null, "plan", "--weight", "25", "--rps", "200", "--window", "15s", "-o", "json")).Out)!;
        var varied = JsonNode.Parse((await Run(null, null, "plan", "--weight", "25", "--rps", "200", "--window", "15s", "--pod-variance", "0.25",
            "--stable-replicas", "10", "--canary-replicas", "3", "-o", "json")).Out)!;
        Assert.True(varied["passPodBand"]!.GetValue<double>() > 1);
        Assert.True(varied["minimumRequestsForPass"]!.GetValue<long>() > alike["minimumRequestsForPass"]!.GetValue<long>());
        var (code, stdout, _) = await Run(null, null, "plan", "--weight", "25", "--rps", "200", "--pod-variance", "1", "--stable-replicas", "10");
        Assert.Equal(0, code);
        Assert.Contains("warning: the pods' persistent dispersion", stdout);
        Assert.Contains("no Pass can come", stdout);
        var (bad, _, stderr) = await Run(null, null, "plan", "--weight", "25", "--rps", "200", "--pod-variance", "2", "--stable-replicas", "10");
        Assert.NotEqual(0, bad);
        Assert.Contains("--pod-variance", stderr);
    }

    [Fact]
    public async Task Plan_says_never_for_a_canary_without_traffic_and_gives_a_number_at_high_traffic()
    {
        // Issue #27 item 7: one sentinel (null, "never"), not Int64.MaxValue and not 0 requests.
        var (code, stdout, _) = await Run(null, null, "plan", "--weight", "0", "--rps", "100");
        Assert.Equal(0, code);
        Assert.DoesNotContain(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), stdout);
        var json = JsonNode.Parse((await Run(null, null, "plan", "--weight", "0", "--rps", "100", "-o", "json")).Out)!;
        Assert.Null(json["minimumRequestsForPass"]);
        Assert.Null(json["minimumWindowsForPass"]);
        var busy = JsonNode.Parse((await Run(null, null, "plan", "--weight", "5", "--rps", "20000", "-o", "json")).Out)!;
        Assert.InRange(busy["minimumRequestsForPass"]!.GetValue<long>(), 1, 100_000_000);
    }

    [Fact]
    public async Task Plan_with_a_created_baseline_shows_its_share_and_refuses_a_mesh_that_cannot_split_three_ways()
    {
        var (code, stdout, _) = await Run(null, null, "plan", "--weight", "10", "--rps", "100", "--baseline");
        Assert.Equal(0, code);
        Assert.Contains("10% (+10% baseline)", stdout);
        Assert.Contains("stable the rest (80%)", stdout);
        var json = JsonNode.Parse((await Run(null, null, "plan", "--weight", "10", "--rps", "100", "--baseline", "-o", "json")).Out)!;
        Assert.Equal(10, json["baselineWeight"]!.GetValue<double>());
        var refused = await Run(null, null, "plan", "--weight", "10", "--rps", "100", "--baseline", "--mesh", "nginx");
        Assert.Equal(2, refused.Code);
        Assert.Contains("meshProvider nginx", refused.Err);
    }

    [Fact]
    public async Task Cancellation_exits_130_and_says_how_to_resume()
    {
        var ctx = new CliContext
        {
            Out = new StringWriter(), Error = new StringWriter(), Environment = _ => null,
            Demo = (_, _, _, _, ct) => Task.FromCanceled<DemoResult>(new CancellationToken(true)),
        };
        var code = await new CliApp(ctx).RunAsync(["demo"]);
        Assert.Equal(130, code);
        Assert.Contains("kubestead wait", ctx.Error.ToString());
    }
}
