using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Reports;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli;

/// <summary>The `kubestead` command tree. Each command parses, makes one call into Core, and prints.</summary>
public sealed class CliApp(CliContext ctx)
{
    private readonly Option<string?> _namespace = new("--namespace", "-n") { Description = "Namespace (default: the kubeconfig context's)", Recursive = true };
    private readonly Option<string?> _context = new("--context") { Description = "kubeconfig context to use", Recursive = true };
    private readonly Option<string?> _kubeconfig = new("--kubeconfig") { Description = "Path to a kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)", Recursive = true };
    private readonly Option<string> _output = new("--output", "-o")
    {
        Description = "Output format: text or json (history: also csv; report: the HTML file to write)", DefaultValueFactory = _ => "text", Recursive = true,
    };
    private readonly Option<bool> _verbose = new("--verbose", "-v") { Description = "Show every engine event (inconclusive windows, verbose lines)", Recursive = true };
    private readonly Option<TimeSpan> _gracePeriod = DurationOption.WithDefault("--grace-period",
        "After SIGINT/SIGTERM/SIGQUIT, how long to let the current write finish and the lease be released before exiting anyway (e.g. 10s)",
        TerminationSignals.DefaultGracePeriod, recursive: true);
    private readonly Option<TimeSpan?> _requestTimeout = DurationOption.Optional("--request-timeout",
        "Give up on one API request after this long and report the server unavailable (default 30s; 0: no limit; watches are not limited)", recursive: true);
    private readonly Option<TimeSpan?> _outageBudget = DurationOption.Optional("--outage-budget",
        "How long to keep retrying while the API server is down, restarting or throttling, before giving up (default 5m; see docs/outages.md)", recursive: true);
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Print the writes the command would make, and make none" };

    public RootCommand Build()
    {
        var root = new RootCommand("kubestead: canary releases on Kubernetes through Istio, Linkerd (HTTPRoute or SMI) or replica ratios, judged from metrics.\n" +
                                   "Exit codes: 0 completed/succeeded, 1 error, 2 invalid input, 3 rolled back, 4 paused, 5 wait --timeout ran out (rollout still running), " +
                                   "6 another version is running (nothing written), 130 cancelled (SIGINT, SIGTERM, SIGQUIT; resumable).\n" +
                                   ExitCodeRule.Text);
        root.Options.Add(_namespace);
        root.Options.Add(_context);
        root.Options.Add(_kubeconfig);
        root.Options.Add(_output);
        root.Options.Add(_verbose);
        root.Options.Add(_gracePeriod);
        root.Options.Add(_requestTimeout);
        root.Options.Add(_outageBudget);
        root.Subcommands.Add(Demo());
        root.Subcommands.Add(Sandbox());
        root.Subcommands.Add(Start());
        root.Subcommands.Add(Status());
        root.Subcommands.Add(Wait());
        root.Subcommands.Add(Simple("pause", "Pause a rollout (it stays where it is until resumed)", (s, ns, n, ct) => s.PauseAsync(ns, n, ct), (ns, n) => new PauseOperation(ns, n)));
        root.Subcommands.Add(Resume());
        root.Subcommands.Add(Approve());
        root.Subcommands.Add(Abort());
        root.Subcommands.Add(Promote());
        root.Subcommands.Add(SetWeight());
        root.Subcommands.Add(Weight());
        root.Subcommands.Add(HeaderRoute());
        root.Subcommands.Add(Analyze());
        root.Subcommands.Add(History());
        root.Subcommands.Add(Report());
        root.Subcommands.Add(Plan());
        root.Subcommands.Add(Validate());
        root.Subcommands.Add(GitOps());
        root.Subcommands.Add(NewSpec());
        root.Subcommands.Add(Controller());
        return root;
    }

    public async Task<int> RunAsync(string[] args, CancellationToken ct = default)
    {
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) ctx.Error.WriteLine($"kubestead: error: {e.Message}");
            ctx.Error.WriteLine("Run 'kubestead --help' for usage.");
            return ExitCodes.InvalidInput;
        }
        if (OutputFormatError(parse) is { } formatError)
        {
            ctx.Error.WriteLine($"kubestead: error: {formatError}");
            ctx.Error.WriteLine("Run 'kubestead --help' for usage.");
            return ExitCodes.InvalidInput;
        }
        if (ctx.Signals is { } signals)
        {
            var grace = parse.GetValue(_gracePeriod);
            if (grace < TimeSpan.Zero)
            {
                ctx.Error.WriteLine("kubestead: error: --grace-period must not be negative");
                return ExitCodes.InvalidInput;
            }
            signals.GracePeriod = grace;
        }
        // ProcessTerminationTimeout null: System.CommandLine's own SIGINT/SIGTERM handling would race ours (and exit
        // 143 on SIGTERM); TerminationSignals is the one path.
        return await parse.InvokeAsync(new InvocationConfiguration { Output = ctx.Out, Error = ctx.Error, ProcessTerminationTimeout = null }, ct).ConfigureAwait(false);
    }

    private bool Json(ParseResult p) => p.GetValue(_output) == "json";

    /// <summary>--output is a format everywhere but in `report`, where it names the file; `history` also writes CSV.</summary>
    private string? OutputFormatError(ParseResult parse)
    {
        var command = parse.CommandResult.Command.Name;
        if (command == "report") return null;
        string[] allowed = command == "history" ? ["text", "json", "csv"] : ["text", "json"];
        var value = parse.GetValue(_output);
        return allowed.Contains(value) ? null : $"--output '{value}' is not one of: {string.Join(", ", allowed)}";
    }

    private Command Demo()
    {
        var mesh = new Option<string>("--mesh") { Description = "istio, linkerd, smi, none, nginx or linkerd1 (namerd dtabs)", DefaultValueFactory = _ => "istio" };
        mesh.AcceptOnlyFromAmong(SandboxDemo.Meshes);
        var scenario = new Option<string>("--scenario") { Description = "healthy (promoted), faulty (rolled back) or low-traffic (paused: insufficient data)", DefaultValueFactory = _ => "healthy" };
        scenario.AcceptOnlyFromAmong(DemoScenario.Names);
        var seed = new Option<int>("--seed") { Description = "Seed of the simulated traffic", DefaultValueFactory = _ => 1 };
        var report = new Option<string?>("--report") { Description = "Also write the rollout's HTML report (charts of weight, failure rates, evidence) to this file" };
        var specFile = new Option<string?>("--spec")
        {
            Description = "Run this rollout spec instead of examples/sandbox/<mesh>.yaml (a copy of it with other steps or analysis settings: it must roll out the shop service in namespace shop with the --mesh's objects)",
        };
        var baseline = new Option<bool>("--baseline")
        {
            Description = "Create a baseline (stable's version, the canary's size and share) and judge the canary against it (istio, linkerd, smi, none; examples/sandbox/<mesh>-baseline.yaml)",
        };
        var loadTest = new Option<bool>("--load-test")
        {
            Description = "Add a load test for quiet canaries: synthetic requests through the header route, judged apart from the users' (istio; examples/sandbox/istio-load-test.yaml). With --scenario low-traffic it turns insufficient data into a verdict",
        };
        var cmd = new Command("demo", "Run a full canary rollout on an embedded emulated cluster with simulated traffic (no cluster needed)") { mesh, scenario, seed, report, specFile, baseline, loadTest };
        cmd.SetAction((p, ct) => Guard(p, async () =>
        {
            var json = Json(p);
            string? specYaml = null;
            if (p.GetValue(specFile) is { } specPath)
            {
                if (!File.Exists(specPath))
                    throw new KubesteadException("SpecFileNotFound", KubesteadErrorKind.InvalidInput, $"--spec: spec file '{specPath}' does not exist", specPath);
                specYaml = await File.ReadAllTextAsync(specPath, ct).ConfigureAwait(false);
            }
            var ci = CiReporter.For(ctx);
            var observer = new CliObserver(json ? ctx.Error : ctx.Out, p.GetValue(_verbose), ci);
            var m = p.GetValue(mesh)!;
            var sc = DemoScenario.Get(p.GetValue(scenario)!);
            var withBaseline = p.GetValue(baseline);
            if (withBaseline && specYaml is not null)
                throw new KubesteadException("DemoSpecAndBaseline", KubesteadErrorKind.InvalidInput,
                    "--baseline runs examples/sandbox/<mesh>-baseline.yaml: give it or --spec (a spec of yours may have baseline: {create: true}), not both");
            if (withBaseline) SandboxDemo.CheckBaselineMesh(m);
            var withLoadTest = p.GetValue(loadTest);
            if (withLoadTest)
            {
                if (specYaml is not null || withBaseline)
                    throw new KubesteadException("DemoLoadTestCombination", KubesteadErrorKind.InvalidInput,
                        "--load-test runs examples/sandbox/<mesh>-load-test.yaml: give it, --spec or --baseline, not two of them (a spec of yours may have analysis.loadTest)");
                specYaml = SandboxDemo.LoadTestSpec(m);
            }
            if (!json)
            {
                ctx.Out.WriteLine($"Sandbox demo: mesh {m}{(withBaseline ? " with a created baseline" : withLoadTest ? " with a load test (50 synthetic requests/s to the canary, judged apart)" : "")}, scenario {sc.Name} ({sc.RequestsPerSecond:0.##} requests/s): {sc.Expectation}.");
                ctx.Out.WriteLine("Time below is the sandbox's virtual clock; the whole rollout runs in seconds.");
                ctx.Out.WriteLine();
            }
            var result = specYaml is not null
                ? await ctx.DemoWithSpec(m, sc.Name, specYaml, observer, p.GetValue(seed), ct).ConfigureAwait(false)
                : await (withBaseline ? ctx.DemoWithBaseline : ctx.Demo)(m, sc.Name, observer, p.GetValue(seed), ct).ConfigureAwait(false);
            var reportPath = p.GetValue(report) is { } path ? WriteReport(result.Rollout, path) : null;
            ci?.OnResult(result.Rollout, reportPath);
            if (json)
            {
                var doc = OutputFormat.RolloutDocument(result.Rollout);
                doc["demo"] = new JsonObject
                {
                    ["mesh"] = m, ["scenario"] = sc.Name, ["requestsPerSecond"] = sc.RequestsPerSecond,
                    ["simulatedSeconds"] = result.SimulatedDuration.TotalSeconds,
                    ["stableRequests"] = result.StableRequests, ["stableFailures"] = result.StableFailures,
                    ["canaryRequests"] = result.CanaryRequests, ["canaryFailures"] = result.CanaryFailures,
                    ["apiRequests"] = result.ApiRequests, ["apiWrites"] = result.ApiWrites,
                };
                if (withBaseline)
                {
                    doc["demo"]!["baselineRequests"] = result.BaselineRequests;
                    doc["demo"]!["baselineFailures"] = result.BaselineFailures;
                    doc["demo"]!["baselineLeftovers"] = new JsonArray(result.BaselineLeftovers.Select(l => (JsonNode?)l).ToArray());
                }
                ctx.Out.WriteLine(doc.ToJsonString(OutputFormat.Json));
            }
            else
            {
                ctx.Out.WriteLine();
                ctx.Out.WriteLine(OutputFormat.Text(result.Rollout));
                ctx.Out.WriteLine();
                ctx.Out.WriteLine($"Simulated {result.SimulatedDuration:h\\:mm\\:ss} of traffic: canary served {result.CanaryRequests} requests ({result.CanaryFailures} failed), " +
                                  $"stable {result.StableRequests} ({result.StableFailures} failed)" +
                                  (withBaseline ? $", baseline {result.BaselineRequests} ({result.BaselineFailures} failed)" : "") +
                                  $"; {result.ApiRequests} API requests, {result.ApiWrites} writes.");
                if (withBaseline)
                    ctx.Out.WriteLine(result.BaselineLeftovers.Count == 0
                        ? "The baseline (Deployment and routing) is gone."
                        : $"Baseline objects left: {string.Join(", ", result.BaselineLeftovers)}.");
                if (reportPath is not null) ctx.Out.WriteLine($"Report written to {reportPath}");
                ctx.Out.WriteLine($"Exit code {ExitCodes.For(result.Rollout)} ({result.Rollout.Phase}).");
            }
            return ExitCodes.For(result.Rollout);
        }));
        return cmd;
    }

    private Command Sandbox()
    {
        var mesh = new Option<string>("--mesh") { Description = "istio, linkerd, smi, none, nginx or linkerd1 (namerd dtabs)", DefaultValueFactory = _ => "istio" };
        mesh.AcceptOnlyFromAmong(SandboxDemo.Meshes);
        var kubeconfigOut = new Option<string>("--kubeconfig-out") { Description = "Where to write the sandbox's kubeconfig", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "kubestead-sandbox.yaml") };
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0: a free one)", DefaultValueFactory = _ => 0 };
        var tls = new Option<bool>("--tls") { Description = "Serve HTTPS with a throw-away CA (written into the kubeconfig)" };
        var scenario = new Option<string>("--scenario") { Description = "Simulated traffic: healthy, faulty (the canary fails 50x as often) or low-traffic", DefaultValueFactory = _ => "healthy" };
        scenario.AcceptOnlyFromAmong("healthy", "faulty", "low-traffic");
        var stdinEof = new Option<bool>("--stop-on-stdin-eof")
        {
            Description = "Stop when standard input reaches its end: a parent that holds the other end of the pipe (Start-KubesteadSandbox) ends the sandbox with it, even when killed",
        };
        var cmd = new Command("sandbox", "Run the emulated cluster with the shop service on 127.0.0.1 until Ctrl+C (for kubectl, the CLI and the cmdlets)") { mesh, kubeconfigOut, port, tls, scenario, stdinEof };
        cmd.SetAction((p, ct) => Guard(p, async () =>
        {
            var env = SandboxEnvironment.Create(p.GetValue(mesh)!, p.GetValue(scenario)!, clock: TimeProvider.System);
            var useTls = p.GetValue(tls);
            // Plain HTTP only: a Prometheus client would not trust the throw-away CA of --tls.
            await using var server = await Kubestead.Sandbox.Server.SandboxApiServer.StartAsync(env.Cluster, p.GetValue(port), ct, useTls,
                useTls ? null : env.Traffic.Prometheus).ConfigureAwait(false);
            if (server.PrometheusAddress is { } prometheus) env.PublishPrometheusAddress(prometheus);
            // meshProvider linkerd1: the dtab lives in namerd, served beside the cluster for drivers in other processes.
            await using var namerd = env.Namerd is null ? null : await Kubestead.Sandbox.Namerd.EmulatedNamerdServer.StartAsync(env.Namerd, 0, ct).ConfigureAwait(false);
            var path = p.GetValue(kubeconfigOut)!;
            try
            {
                server.WriteKubeconfig(path + ".tmp", ShopFixture.Namespace);
                File.Move(path + ".tmp", path, overwrite: true); // appears complete, so a waiting Start-KubesteadSandbox never reads half a file
                ctx.Out.WriteLine($"Sandbox cluster ({p.GetValue(mesh)}) at {server.Address}; kubeconfig: {path}");
                if (server.PrometheusAddress is { } served)
                    ctx.Out.WriteLine($"Simulated metrics (Prometheus API) at {served}; specs with the 'simulated' metric provider read them from there.");
                if (namerd is not null)
                    ctx.Out.WriteLine($"Emulated namerd (dtab namespace '{ShopFixture.DtabNamespace}') at {namerd.Address}; set spec.linkerd1.namerd to it.");
                ctx.Out.WriteLine($"Try: KUBECONFIG={path} kubectl get deployments -n shop   (Ctrl+C or SIGTERM stops it)");
                ctx.Out.Flush();
                // The kernel closes a dead parent's end of the pipe whatever killed it (SIGKILL included), so EOF is the
                // one parent-death signal that needs no polling.
                var parentGone = p.GetValue(stdinEof) ? Task.Run(() => Console.In.ReadToEnd(), CancellationToken.None) : Task.Delay(Timeout.Infinite, CancellationToken.None);
                await Task.WhenAny(Task.Delay(Timeout.Infinite, ct), parentGone).ConfigureAwait(false);
            }
            finally
            {
                // Before the server stops: a supervisor watching the file sees it go as soon as the sandbox is stopping.
                File.Delete(path + ".tmp");
                File.Delete(path);
            }
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private Command Start()
    {
        var file = new Option<string?>("--file", "-f") { Description = "Rollout spec (YAML)" };
        var name = new Option<string?>("--name") { Description = "Rollout/Deployment name, for the common case with --image" };
        var image = new Option<string?>("--image") { Description = "New image for the canary" };
        var mesh = new Option<string?>("--mesh") { Description = "istio, linkerd, smi, none, nginx or linkerd1 (namerd dtabs; check the guessed spec.linkerd1) (with --image)" };
        var service = new Option<string?>("--service") { Description = "Service name (with --image; default: --name)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Record and prepare the rollout, then return without driving it" };
        var replace = new Option<bool>("--replace") { Description = "If a rollout of another version is running, abort it and start this one" };
        var detach = new Option<bool>("--detach") { Description = "Validate, preflight and record the rollout, hand it to 'kubestead controller' and return (refused when no controller is live)" };
        var controllerNs = new Option<string>("--controller-namespace")
        {
            Description = "Where the controllers run (their heartbeat Leases), for --detach", DefaultValueFactory = _ => Kubestead.Controller.ControllerPresence.DefaultNamespace,
        };
        var cmd = new Command("start", "Start a rollout and drive it until it completes, rolls back or pauses") { file, name, image, mesh, service, noWait, replace, detach, controllerNs, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, observer, ci) =>
        {
            var request = new StartRequest
            {
                SpecPath = p.GetValue(file), Name = p.GetValue(name), Image = p.GetValue(image),
                MeshProvider = p.GetValue(mesh), Service = p.GetValue(service), Namespace = ns, Replace = p.GetValue(replace),
                Detach = p.GetValue(detach), ControllerNamespace = p.GetValue(controllerNs)!,
            };
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new StartOperation(request), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.StartAsync(request, !p.GetValue(noWait) && !request.Detach, ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Status()
    {
        var name = new Argument<string?>("name") { Description = "Rollout name (omit to list)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all-namespaces", "-A") { Description = "List rollouts in every namespace" };
        var cmd = new Command("status", "Show a rollout, or list rollouts (exit 0 whatever the rollout's phase: it reports that it could read it)") { name, all };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) =>
        {
            if (p.GetValue(name) is { } n) return PrintRollout(p, null, await svc.GetAsync(ns, n, ct).ConfigureAwait(false), exitByPhase: false);
            var list = await svc.ListAsync(p.GetValue(all) ? "*" : ns, ct).ConfigureAwait(false);
            if (Json(p)) ctx.Out.WriteLine(new JsonArray(list.Select(r => (JsonNode?)OutputFormat.RolloutDocument(r)).ToArray()).ToJsonString(OutputFormat.Json));
            else ctx.Out.WriteLine(list.Count == 0 ? "No rollouts found." : OutputFormat.Table(["NAMESPACE", "NAME", "MESH", "PHASE", "STEP", "CANARY", "MESSAGE"],
                list.Select(r => new[] { r.Namespace, r.Name, r.MeshProvider, r.Phase.ToString(), $"{Math.Min(r.StepIndex + 1, r.StepCount)}/{r.StepCount}", $"{r.CanaryWeight:0.###}%", r.Message }).ToList()));
            return ExitCodes.Success;
        }, ct, apiServerOnly: true));
        return cmd;
    }

    private Command Controller()
    {
        var watch = new Option<string[]>("--watch-namespace")
        {
            Description = "Drive rollouts in this namespace (repeat or comma-separate for several; default: every namespace)", AllowMultipleArgumentsPerToken = true,
        };
        var replica = new Option<string?>("--replica") { Description = "This replica's name in Leases and logs (default: $POD_NAME, else host-pid)" };
        var home = new Option<string?>("--home-namespace") { Description = "Where the replicas' heartbeat Leases live (default: the context's or the pod's namespace)" };
        var max = new Option<int>("--max-rollouts") { Description = "At most this many rollouts driven at once by this replica", DefaultValueFactory = _ => 100 };
        var lease = DurationOption.Optional("--lease-duration",
            "Rollout Lease and heartbeat duration (default 60s): a dead replica's rollouts are driven again after about this long");
        var listen = new Option<string>("--listen-address")
        {
            Description = "Serve /metrics, /healthz and /readyz here (host:port; 0.0.0.0:8080 in a pod, so probes and scrapers reach it; port 0 picks a free one)",
            DefaultValueFactory = _ => "127.0.0.1:8080",
        };
        var cmd = new Command("controller", "Run a controller replica: drive every rollout handed to controllers ('start --detach') until SIGTERM, then release its Leases")
        {
            watch, replica, home, max, lease, listen,
        };
        cmd.SetAction((p, ct) => Guard(p, async () =>
        {
            var name = p.GetValue(replica) ?? Kubestead.Controller.ControllerHost.DefaultReplica(ctx.Environment);
            var options = new Kubestead.Controller.ControllerHostOptions(
                new ConnectionOptions(p.GetValue(_kubeconfig), p.GetValue(_context), p.GetValue(_namespace)),
                name, SplitList(p.GetValue(watch)), p.GetValue(home), p.GetValue(max), p.GetValue(lease));
            var log = new ControllerLog(ctx.Out, name, p.GetValue(_verbose));
            var metrics = new ControllerMetrics();
            Kubestead.Controller.RolloutController? running = null;
            await using var endpoint = ControllerEndpoint.Start(ControllerEndpoint.ParseAddress(p.GetValue(listen)!), metrics.Registry,
                () => running?.Readiness ?? new Kubestead.Controller.ControllerReadiness(false, "starting"));
            log.Listening(endpoint.Bound);
            var observers = new ObserverFanOut(log, metrics);
            // Runs until SIGTERM (the token), then drains: that is a normal end, exit 0.
            await Kubestead.Controller.ControllerHost.RunAsync(options with { OnApiRequest = metrics.OnApiRequest }, observers, observers, (c, engine) =>
            {
                metrics.Attach(c);
                metrics.AttachEvents(() => engine.EventDelivery);
                running = c;
            }, ct, ctx.Environment).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return cmd;
    }

    private static List<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal).ToList();

    private Command Wait()
    {
        var name = NameArgument();
        var timeout = DurationOption.Optional("--timeout", "Give up waiting after this long (e.g. 30m); the rollout continues");
        var stopAtPause = new Option<bool>("--stop-at-pause")
        {
            Description = "Return at a manual or drift pause (exit 4) instead of judging the paused canary until it is resumed or aborted",
        };
        var cmd = new Command("wait", "Drive (or watch) a rollout until it completes or rolls back; a paused canary is judged until someone resumes or aborts it")
            { name, timeout, stopAtPause };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
            PrintRollout(p, ci, await svc.WaitAsync(ns, p.GetValue(name)!, p.GetValue(timeout), throughPauses: !p.GetValue(stopAtPause), ct).ConfigureAwait(false)), ct));
        return cmd;
    }

    private Command Resume()
    {
        var name = NameArgument();
        var noWait = new Option<bool>("--no-wait") { Description = "Mark it resumed without driving it" };
        var cmd = new Command("resume", "Resume a paused rollout and drive it on") { name, noWait, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new ResumeOperation(ns ?? svc.DefaultNamespace, p.GetValue(name)!), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.ResumeAsync(ns, p.GetValue(name)!, !p.GetValue(noWait), ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Approve()
    {
        var name = NameArgument();
        var by = new Option<string?>("--by") { Description = "Who approves, as recorded in the history (default: user@host of this process)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Record the approval without driving the rollout on" };
        var cmd = new Command("approve", "Pass the approval step a rollout waits at, recording who approved it and when, and drive it on") { name, by, noWait, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new ApproveOperation(ns ?? svc.DefaultNamespace, p.GetValue(name)!, p.GetValue(by)), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.ApproveAsync(ns, p.GetValue(name)!, p.GetValue(by), !p.GetValue(noWait), ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Promote()
    {
        var name = NameArgument();
        var noWait = new Option<bool>("--no-wait") { Description = "Request promotion without driving it" };
        var cmd = new Command("promote", "Skip the remaining steps and promote the canary") { name, noWait, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new PromoteOperation(ns ?? svc.DefaultNamespace, p.GetValue(name)!), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.PromoteAsync(ns, p.GetValue(name)!, !p.GetValue(noWait), ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Abort()
    {
        var name = NameArgument();
        var wait = new Option<bool>("--wait")
        {
            Description = "Also wait out scaleDownDelay and remove the canary (default: return once traffic is on stable; the next start, resume, wait, abort or controller removes it)",
        };
        var file = new Option<string?>("--file", "-f")
        {
            Description = "The rollout's spec (YAML), used only when both its state ConfigMap and its Lease are gone: it names the route objects to send back to stable",
        };
        var cmd = new Command("abort", "Abort a rollout: all traffic to stable in one write, then clean up (a canary kept for scaleDownDelay is left for the next comer unless --wait)")
            { name, wait, file, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            var spec = p.GetValue(file) is { } path ? SpecFile.Read(path) : null;
            if (p.GetValue(_dryRun))
                return PrintPlan(p, await svc.PlanAsync(new AbortOperation(ns ?? svc.DefaultNamespace, p.GetValue(name)!) { SpecFile = spec }, ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.AbortAsync(ns, p.GetValue(name)!, p.GetValue(wait), spec, ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Simple(string verb, string description, Func<IKubesteadService, string?, string, CancellationToken, Task<RolloutResult>> call,
        Func<string, string, PlannedOperation> plan)
    {
        var name = NameArgument();
        var cmd = new Command(verb, description) { name, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(plan(ns ?? svc.DefaultNamespace, p.GetValue(name)!), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await call(svc, ns, p.GetValue(name)!, ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command SetWeight()
    {
        var name = NameArgument();
        var weight = new Argument<double>("weight") { Description = "Canary share in percent (0-100; decimals where the mesh allows)" };
        var cmd = new Command("set-weight", "Set the canary's traffic share by hand (one write, read back)") { name, weight, _dryRun };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new SetWeightOperation(ns ?? svc.DefaultNamespace, p.GetValue(name)!, p.GetValue(weight)), ct).ConfigureAwait(false));
            return PrintWeight(p, await svc.SetWeightAsync(ns, p.GetValue(name)!, p.GetValue(weight), ct).ConfigureAwait(false));
        }, ct));
        return cmd;
    }

    private Command Weight()
    {
        var name = NameArgument();
        var cmd = new Command("weight", "Show the split as the mesh objects state it, and the share observed in the metrics") { name };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) => PrintWeight(p, await svc.GetWeightAsync(ns, p.GetValue(name)!, ct).ConfigureAwait(false)), ct));
        return cmd;
    }

    private Command HeaderRoute()
    {
        var cmd = new Command("header-route", "Route requests with a header (default x-canary: true) to the canary");
        var setName = NameArgument();
        var route = new Option<string>("--route") { Description = "Header route name", DefaultValueFactory = _ => "canary-testers" };
        var header = new Option<string>("--header") { Description = "Header name", DefaultValueFactory = _ => "x-canary" };
        var value = new Option<string>("--value") { Description = "Header value", DefaultValueFactory = _ => "true" };
        var match = new Option<string>("--match") { Description = "exact, prefix or regex", DefaultValueFactory = _ => "exact" };
        match.AcceptOnlyFromAmong("exact", "prefix", "regex");
        var cookie = new Option<string?>("--cookie") { Description = "Match this cookie instead of a header (with --cookie-value or --cookie-regex)" };
        var cookieValue = new Option<string?>("--cookie-value") { Description = "The cookie's exact value" };
        var cookieRegex = new Option<string?>("--cookie-regex") { Description = "A regex the cookie's whole value must match (RE2 syntax)" };
        var set = new Command("set", "Add a header route") { setName, route, header, value, match, cookie, cookieValue, cookieRegex, _dryRun };
        set.Validators.Add(r =>
        {
            var hasCookie = r.GetResult(cookie) is not null;
            var hasValue = r.GetResult(cookieValue) is not null;
            var hasRegex = r.GetResult(cookieRegex) is not null;
            if (hasCookie && hasValue == hasRegex) r.AddError("--cookie needs exactly one of --cookie-value and --cookie-regex");
            else if (!hasCookie && (hasValue || hasRegex)) r.AddError("--cookie-value and --cookie-regex need --cookie (the cookie's name)");
            else if (hasCookie && (r.GetResult(header) is { Implicit: false } || r.GetResult(value) is { Implicit: false } || r.GetResult(match) is { Implicit: false }))
                r.AddError("give either a header (--header, --value, --match) or a cookie (--cookie), not both");
        });
        set.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            var cookieMatch = p.GetValue(cookie) is { } cookieName
                ? new Kubestead.Traffic.CookieMatch(cookieName, p.GetValue(cookieRegex) ?? p.GetValue(cookieValue)!, IsRegex: p.GetValue(cookieRegex) is not null)
                : null;
            var request = new HeaderRouteRequest(p.GetValue(route)!, p.GetValue(header)!, p.GetValue(value)!,
                Enum.Parse<HeaderMatchType>(p.GetValue(match)!, ignoreCase: true), cookieMatch);
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new SetHeaderRouteOperation(ns ?? svc.DefaultNamespace, p.GetValue(setName)!, request), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.SetHeaderRouteAsync(ns, p.GetValue(setName)!, request, ct).ConfigureAwait(false), exitByPhase: false);
        }, ct));
        var removeName = NameArgument();
        var removeRoute = new Option<string>("--route") { Description = "Header route name", DefaultValueFactory = _ => "canary-testers" };
        var remove = new Command("remove", "Remove a header route") { removeName, removeRoute, _dryRun };
        remove.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            if (p.GetValue(_dryRun)) return PrintPlan(p, await svc.PlanAsync(new RemoveHeaderRouteOperation(ns ?? svc.DefaultNamespace, p.GetValue(removeName)!, p.GetValue(removeRoute)!), ct).ConfigureAwait(false));
            return PrintRollout(p, ci, await svc.RemoveHeaderRouteAsync(ns, p.GetValue(removeName)!, p.GetValue(removeRoute)!, ct).ConfigureAwait(false), exitByPhase: false);
        }, ct));
        cmd.Subcommands.Add(set);
        cmd.Subcommands.Add(remove);
        return cmd;
    }

    private Command Analyze()
    {
        var name = new Argument<string?>("name") { Description = "Rollout name (omit to judge counts given with the options)", Arity = ArgumentArity.ZeroOrOne };
        var cr = new Option<long?>("--canary-requests");
        var cf = new Option<long?>("--canary-failures");
        var sr = new Option<long?>("--control-requests");
        var sf = new Option<long?>("--control-failures");
        var judge = new Option<string>("--judge") { DefaultValueFactory = _ => "sequential" };
        judge.AcceptOnlyFromAmong("sequential", "threshold", "mannWhitney");
        var cmd = new Command("analyze", "Show the analysis verdicts of a rollout, or judge counts ad hoc") { name, cr, cf, sr, sf, judge };
        cmd.SetAction((p, ct) =>
        {
            if (p.GetValue(name) is { } n)
                return WithService(p, async (svc, ns, _, _) => PrintAnalysis(p, await svc.GetAnalysisAsync(ns, n, ct).ConfigureAwait(false)), ct);
            return Guard(p, () =>
            {
                if (p.GetValue(cr) is not { } a || p.GetValue(cf) is not { } b || p.GetValue(sr) is not { } c || p.GetValue(sf) is not { } d)
                    throw new KubesteadException("AnalyzeNeedsInput", KubesteadErrorKind.InvalidInput,
                        "give a rollout name, or all of --canary-requests, --canary-failures, --control-requests, --control-failures");
                return Task.FromResult(PrintAnalysis(p, ctx.Offline().AnalyzeCounts(new VersionSample(a, b), new VersionSample(c, d), p.GetValue(judge)!)));
            });
        });
        return cmd;
    }

    private Command Plan()
    {
        var weight = new Option<double>("--weight") { Description = "Canary weight in percent", Required = true };
        var window = DurationOption.WithDefault("--window", "Analysis window (e.g. 1m, 30s)", TimeSpan.FromMinutes(1));
        var rps = new Option<double>("--rps") { Description = "Service request rate (requests/s)", Required = true };
        var routing = new Option<string>("--routing") { Description = "binomial (Istio, Linkerd), wrr (round robin) or pods (no mesh)", DefaultValueFactory = _ => "binomial" };
        routing.AcceptOnlyFromAmong("binomial", "wrr", "pods");
        var mesh = new Option<string>("--mesh") { Description = "istio, linkerd, smi, none, nginx or linkerd1", DefaultValueFactory = _ => "istio" };
        var replicas = new Option<int?>("--stable-replicas") { Description = "Stable replicas (needed without a mesh and with --pod-variance)" };
        var baseline = new Option<bool>("--baseline") { Description = "With a created baseline (baseline: {create: true}): it gets the canary's share and the judges compare with it" };
        var podVariance = new Option<double?>("--pod-variance") { Description = "How far the pods' failure rates differ persistently (φ², 0-1: the bound an undecided verdict says the Pass band reads); needs --stable-replicas" };
        var canaryReplicas = new Option<int?>("--canary-replicas") { Description = "Canary pods, for --pod-variance (default 1; no mesh: the plan's own)" };
        var cmd = new Command("plan", "Precision and expected samples for a weight, window and request rate (no cluster needed)") { weight, window, rps, routing, mesh, replicas, baseline, podVariance, canaryReplicas };
        cmd.SetAction((p, ct) => Guard(p, () =>
        {
            var mode = p.GetValue(routing) switch { "wrr" => CanaryRoutingMode.WeightedRoundRobin, "pods" => CanaryRoutingMode.Pods, _ => CanaryRoutingMode.Binomial };
            var plan = ctx.Offline().PlanSplit(new SplitPlanRequest(p.GetValue(weight), p.GetValue(window), p.GetValue(rps), mode, p.GetValue(mesh)!, p.GetValue(replicas),
                Baseline: p.GetValue(baseline)) { PodVariance = p.GetValue(podVariance), CanaryReplicas = p.GetValue(canaryReplicas) }, ct);
            if (Json(p)) ctx.Out.WriteLine(OutputFormat.Serialize(plan));
            else
            {
                ctx.Out.WriteLine(OutputFormat.Table(["WEIGHT", "ACHIEVABLE", "MINIMUM", "CANARY REQ/WINDOW", "P(EMPTY WINDOW)", "TIME TO DETECT", "REQUESTS TO PASS", "WINDOWS TO PASS (TIME)"],
                    [[$"{plan.RequestedWeight:0.###}%", $"{plan.AchievableWeight:0.###}%" + (plan.BaselineWeight is { } b ? $" (+{b:0.###}% baseline)" : ""),
                      $"{plan.MinimumCanaryWeight:0.###}%", plan.ExpectedCanaryRequests.ToString("0.##", CultureInfo.InvariantCulture),
                      plan.EmptyWindowProbability.ToString("P1", CultureInfo.InvariantCulture), plan.TimeToDetect?.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) ?? "never",
                      plan.MinimumRequestsForPass?.ToString(CultureInfo.InvariantCulture) ?? "never",
                      plan.MinimumWindowsForPass is { } windows ? $"{windows} ({ClockOrNever(plan.MinimumTimeForPass)})" : "never"]]));
                ctx.Out.WriteLine(plan.PrecisionExplanation);
                foreach (var w in plan.Warnings) ctx.Out.WriteLine("warning: " + w);
            }
            return Task.FromResult(ExitCodes.Success);
        }));
        return cmd;
    }

    private static string ClockOrNever(TimeSpan? t) =>
        t is { } d ? d.ToString(d.Days > 0 ? @"d\.hh\:mm\:ss" : @"h\:mm\:ss", CultureInfo.InvariantCulture) : "never";

    private Command Validate()
    {
        var file = new Option<string>("--file", "-f") { Description = "Rollout spec (YAML)", Required = true };
        var cluster = new Option<bool>("--cluster") { Description = "Also check the cluster: objects, subsets, selectors, permissions, and each metric source's connection" };
        var cmd = new Command("validate", "Validate a spec (every problem at once, with file:line:column)") { file, cluster };
        cmd.SetAction((p, ct) =>
        {
            var path = p.GetValue(file)!;
            if (p.GetValue(cluster))
                return WithService(p, async (svc, ns, _, _) => PrintChecks(p, await svc.TestAsync(new StartRequest { SpecPath = path, Namespace = ns }, true, ct).ConfigureAwait(false)), ct);
            return Guard(p, () =>
            {
                if (!File.Exists(path)) throw new KubesteadException("SpecFileNotFound", KubesteadErrorKind.InvalidInput, $"spec file '{path}' does not exist", path);
                return Task.FromResult(PrintChecks(p, ctx.Offline().ValidateSpec(File.ReadAllText(path), path)));
            });
        });
        return cmd;
    }

    private Command GitOps()
    {
        var name = NameArgument();
        var cmd = new Command("gitops", "Argo CD ignoreDifferences and Flux settings that keep GitOps from reverting Kubestead's weights") { name };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) =>
        {
            var g = await svc.GetGitOpsConfigAsync(ns, p.GetValue(name)!, ct).ConfigureAwait(false);
            if (Json(p)) ctx.Out.WriteLine(OutputFormat.Serialize(g));
            else ctx.Out.WriteLine($"# Argo CD Application spec:\n{g.ArgoCdIgnoreDifferences}\n\n# Flux:\n{g.FluxGuidance}");
            return ExitCodes.Success;
        }, ct));
        return cmd;
    }

    private Command NewSpec()
    {
        var service = new Argument<string>("service") { Description = "The Service to roll out" };
        var mesh = new Option<string?>("--mesh") { Description = "istio, linkerd, smi, none, nginx or linkerd1 (default: detected)" };
        var cmd = new Command("new-spec", "Scaffold a rollout spec from what the cluster holds") { service, mesh };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) =>
        {
            ctx.Out.Write(await svc.NewSpecAsync(ns, p.GetValue(service)!, p.GetValue(mesh), ct).ConfigureAwait(false));
            return ExitCodes.Success;
        }, ct));
        return cmd;
    }

    private Command History()
    {
        var name = NameArgument();
        var cmd = new Command("history", "Show a rollout's history: its events and, per analysis window, weight, counts, verdict and e-value (-o text, json or csv)") { name };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, _) =>
        {
            var rows = RolloutHistoryRow.For(await svc.GetAsync(ns, p.GetValue(name)!, ct).ConfigureAwait(false));
            var format = p.GetValue(_output);
            if (format == "json") ctx.Out.WriteLine(OutputFormat.Serialize<IReadOnlyList<RolloutHistoryRow>>(rows));
            else if (format == "csv") ctx.Out.Write(HistoryCsv.Write(rows));
            else ctx.Out.WriteLine(rows.Count == 0 ? "No history recorded." : OutputFormat.History(rows));
            return ExitCodes.Success;
        }, ct));
        return cmd;
    }

    private Command Report()
    {
        var name = NameArgument();
        var cmd = new Command("report", "Write a rollout's report: one self-contained HTML file with charts (weight, failure rates, evidence, latency), verdicts and events. " +
                                        "-o names the file (default <name>-report.html)") { name };
        cmd.SetAction((p, ct) => WithService(p, async (svc, ns, _, ci) =>
        {
            var result = await svc.GetAsync(ns, p.GetValue(name)!, ct).ConfigureAwait(false);
            var path = p.GetResult(_output) is { Implicit: false } ? p.GetValue(_output)! : $"{result.Name}-report.html";
            path = WriteReport(result, path);
            ctx.Out.WriteLine($"Report written to {path}");
            ci?.OnReport(path);
            return ExitCodes.Success;
        }, ct));
        return cmd;
    }

    private static string WriteReport(RolloutResult rollout, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new KubesteadException("ReportPathEmpty", KubesteadErrorKind.InvalidInput, "the report file name (-o/--report) is empty");
        var full = Path.GetFullPath(path);
        File.WriteAllText(full, RolloutReportWriter.Render(rollout, TimeProvider.System.GetUtcNow()), new System.Text.UTF8Encoding(false));
        return full;
    }

    /// <summary>kubectl's --request-timeout 0 means no limit.</summary>
    private ConnectionOptions Connection(ParseResult p) => new(p.GetValue(_kubeconfig), p.GetValue(_context), p.GetValue(_namespace),
        p.GetValue(_requestTimeout) is { } t ? (t == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : t) : null, p.GetValue(_outageBudget));

    private static Argument<string> NameArgument() => new("name") { Description = "Rollout name" };

    /// <param name="apiServerOnly">The command talks to the API server and nothing else (no metrics, webhooks or namerd).</param>
    private async Task<int> WithService(ParseResult p, Func<IKubesteadService, string?, CliObserver, CiReporter?, Task<int>> body, CancellationToken ct,
        bool apiServerOnly = false) =>
        await Guard(p, async () =>
        {
            var ci = CiReporter.For(ctx);
            var observer = new CliObserver(Json(p) ? ctx.Error : ctx.Out, p.GetValue(_verbose), ci);
            var connect = apiServerOnly && ctx.ConnectApiOnly is { } apiOnly ? apiOnly : ctx.Connect;
            await using var svc = await connect(Connection(p), observer, ct).ConfigureAwait(false);
            return await body(svc, p.GetValue(_namespace), observer, ci).ConfigureAwait(false);
        }).ConfigureAwait(false);

    /// <summary>Turns exceptions into one error line and an exit code. Messages from Core carry no secrets; nothing else is printed.</summary>
    private async Task<int> Guard(ParseResult p, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException || ctx.Signals is { Received: > 0 })
        {
            // After a signal, a request cut off mid-flight may surface as its client's own error: the command was still cancelled.
            ctx.Error.WriteLine("kubestead: cancelled. The rollout's state is in the cluster; continue it with 'kubestead wait <name>' or 'kubestead resume <name>'.");
            return ExitCodes.Cancelled;
        }
        catch (KubesteadException e)
        {
            // With --output json a CI step parses stdout: give it one document saying what went wrong, not nothing.
            if (Json(p))
                ctx.Out.WriteLine(new JsonObject
                {
                    ["error"] = new JsonObject { ["id"] = e.ErrorId, ["kind"] = OutputFormat.Camel(e.Kind.ToString()), ["message"] = e.Message, ["target"] = e.Target },
                }.ToJsonString(OutputFormat.Json));
            ctx.Error.WriteLine($"kubestead: error: {e.Message} [{e.ErrorId}]");
            CiReporter.For(ctx)?.OnError(e.ErrorId, e.Message);
            return ExitCodes.For(e);
        }
        catch (KubernetesApiException e)
        {
            ctx.Error.WriteLine($"kubestead: error: {e.Message} [{e.Reason}]");
            if (e.IsUnavailable)
                ctx.Error.WriteLine("kubestead: the API server did not answer, so nothing was undone and nothing was marked Failed: a rollout stays as last " +
                                    "recorded in the cluster. Once the server answers, 'kubestead status <name>' shows where it stands and 'kubestead wait <name>' " +
                                    "drives it on (docs/outages.md).");
            CiReporter.For(ctx)?.OnError(e.Reason.ToString(), e.Message);
            return ExitCodes.Error;
        }
        catch (Exception e) when (e is NotImplementedException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            ctx.Error.WriteLine($"kubestead: error: {e.Message}");
            return ExitCodes.Error;
        }
    }

    private int PrintRollout(ParseResult p, CiReporter? ci, RolloutResult r, bool exitByPhase = true)
    {
        ci?.OnResult(r);
        ctx.Out.WriteLine(Json(p) ? OutputFormat.RolloutDocument(r).ToJsonString(OutputFormat.Json) : OutputFormat.Text(r));
        return exitByPhase ? ExitCodes.For(r) : ExitCodes.Success;
    }

    private int PrintWeight(ParseResult p, WeightReport w)
    {
        if (Json(p)) ctx.Out.WriteLine(OutputFormat.Serialize(w));
        else
        {
            ctx.Out.WriteLine(OutputFormat.Table(["NAMESPACE", "NAME", "MESH", "STABLE", "CANARY", "OBSERVED CANARY", "SOURCE"],
                [[w.Namespace, w.Name, w.MeshProvider, $"{w.StableWeight:0.###}%", $"{w.CanaryWeight:0.###}%", w.ObservedCanaryShare is { } o ? $"{o:0.##}%" : "-", w.Source]]));
        }
        return ExitCodes.Success;
    }

    /// <summary>A verdict with its scope, as Get-CanaryAnalysis's Scope: "step" (this analysis step) or "background" (whole rollout).</summary>
    private static JsonObject Scoped(Verdict v, string scope)
    {
        var doc = OutputFormat.VerdictDocument(v);
        doc["scope"] = scope;
        return doc;
    }

    private int PrintAnalysis(ParseResult p, AnalysisReport a)
    {
        if (Json(p))
            ctx.Out.WriteLine(new JsonObject
            {
                ["name"] = a.Name, ["namespace"] = a.Namespace,
                ["analysis"] = new JsonArray(a.Verdicts.Select(v => (JsonNode?)Scoped(v, "step")).ToArray()),
                ["background"] = new JsonArray(a.BackgroundVerdicts.Select(v => (JsonNode?)Scoped(v, "background")).ToArray()),
            }.ToJsonString(OutputFormat.Json));
        else
        {
            ctx.Out.WriteLine(a.Verdicts.Count == 0 ? "No verdicts yet." : OutputFormat.Verdicts(a.Verdicts));
            if (a.BackgroundVerdicts.Count > 0)
                ctx.Out.WriteLine("Background analysis (whole rollout; a Fail aborts):" + Environment.NewLine + OutputFormat.Verdicts(a.BackgroundVerdicts));
        }
        // A background Fail is what aborts; a background Pass or no verdict yet does not hold back a step's Pass.
        return a.Verdicts.Concat(a.BackgroundVerdicts).Any(v => v.Outcome == VerdictOutcome.Fail) ? ExitCodes.RolledBack
            : a.Verdicts.Count > 0 && a.Verdicts.All(v => v.Outcome == VerdictOutcome.Pass) ? ExitCodes.Success : ExitCodes.Paused;
    }

    private int PrintChecks(ParseResult p, SpecTestReport report)
    {
        if (Json(p)) ctx.Out.WriteLine(OutputFormat.Serialize(report));
        else foreach (var c in report.Checks) ctx.Out.WriteLine($"{c.Outcome.ToString().ToUpperInvariant(),-8} {c.Check,-8} {c.Message}");
        return report.IsValid ? ExitCodes.Success : ExitCodes.InvalidInput;
    }

    private int PrintPlan(ParseResult p, IReadOnlyList<PlannedChange> plan)
    {
        if (Json(p)) ctx.Out.WriteLine(OutputFormat.Serialize(new DryRunDocument(true, plan)));
        else
        {
            ctx.Out.WriteLine("Dry run: nothing was written. The command would:");
            foreach (var c in plan) ctx.Out.WriteLine($"  {c.Verb,-12} {c.Target}: {c.Description}");
        }
        return ExitCodes.Success;
    }
}
