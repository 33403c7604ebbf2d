using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kubestead.Cli.Tests;
using Kubestead.Controller;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;

// The controller bench (issue #30): real `kubestead controller` processes against a real kube-apiserver, judging rollouts
// that stay in analysis (a GatedCanaryPrometheus serves no canary traffic until the bench opens it), as the scale test
// does. Prints a markdown report on stdout; progress on stderr. Run through bench/controller/run.sh.
var options = BenchOptions.Parse(args);
var report = new StringBuilder();
void Progress(string what) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {what}");

IKubernetesApi admin = RealApiServer.Connect(options.Kubeconfig, "admin");
var home = await RealApiServer.CreateNamespaceAsync(admin, "ksbench", 20);
var namespaces = new List<string>();
for (var i = 0; i < 5; i++) namespaces.Add(await RealApiServer.CreateNamespaceAsync(admin, $"ksbench{i}", 20));
var readiness = namespaces.Select(ns => new ReadinessController(admin, ns)).ToList();
using var prometheus = new GatedCanaryPrometheus();
var replicas = new Dictionary<string, ChildProcess>();
var rollouts = Enumerable.Range(0, options.Rollouts).Select(i => (Ns: namespaces[i % namespaces.Count], Name: $"app-{i}")).ToList();

ChildProcess StartReplica(string name) => replicas[name] = ChildProcess.Start([
    "controller", "--kubeconfig", options.Kubeconfig, "--context", "admin", "--home-namespace", home,
    "--watch-namespace", string.Join(",", namespaces), "--replica", name, "--lease-duration", options.Lease.ToString(),
    "--max-rollouts", options.Rollouts.ToString(CultureInfo.InvariantCulture), "--listen-address", "127.0.0.1:0", "--grace-period", "50s",
]);

try
{
    report.AppendLine(CultureInfo.InvariantCulture, $"Rollouts: {options.Rollouts} in 5 namespaces, each at 50 % in an analysis step judged every 5 s (threshold judge, 8 Prometheus queries a window); Lease duration {options.Lease.TotalSeconds:0} s.");
    report.AppendLine();

    // 1. One replica: idle, then every rollout in analysis on it.
    var one = StartReplica("bench-a");
    await WaitReadyAsync(one);
    await Task.Delay(TimeSpan.FromSeconds(5));
    var idle = await MeasureAsync(one, TimeSpan.FromSeconds(20));
    Progress($"idle: {idle}");
    var handOver = Stopwatch.StartNew();
    await HandOverAsync();
    Progress($"{rollouts.Count} rollouts handed over in {handOver.Elapsed.TotalSeconds:0} s");
    await WaitUntilAsync(async () => (await HoldersAsync()).Values.All(h => h == Holder("bench-a")) && (await StatusesAsync()).All(s => s is { StepIndex: 1 }),
        TimeSpan.FromMinutes(10), "every rollout in analysis on bench-a");
    var inAnalysis = handOver.Elapsed;
    Progress($"every rollout in analysis after {inAnalysis.TotalSeconds:0} s; settling");
    await Task.Delay(TimeSpan.FromSeconds(15));
    var steady = await MeasureAsync(one, options.Steady);
    Progress($"steady: {steady}; by verb and resource: " + string.Join(", ", steady.ApiByVerb.Select(kv => $"{kv.Key} {kv.Value}")));

    report.AppendLine("## One replica, every rollout in analysis");
    report.AppendLine();
    report.AppendLine("| measure | idle (0 rollouts) | " + options.Rollouts + " rollouts in analysis | goal |");
    report.AppendLine("|---|---|---|---|");
    report.AppendLine(CultureInfo.InvariantCulture, $"| RSS (largest sample, MB) | {idle.MaxRssMb:0} | {steady.MaxRssMb:0} | < 300 per 100 rollouts |");
    report.AppendLine(CultureInfo.InvariantCulture, $"| CPU (cores, mean over {steady.Window.TotalSeconds:0} s) | {idle.Cores:0.000} | {steady.Cores:0.000} | < 0.5 per 100 rollouts |");
    report.AppendLine(CultureInfo.InvariantCulture, $"| API requests per minute | {idle.ApiPerMinute:0.0} | {steady.ApiPerMinute:0.0} | |");
    report.AppendLine(CultureInfo.InvariantCulture, $"| API requests per rollout-minute | | {steady.ApiPerMinute / options.Rollouts:0.00} | watches + needed writes, no polling |");
    report.AppendLine(CultureInfo.InvariantCulture, $"| Prometheus queries per rollout-minute | | {steady.QueriesPerMinute / options.Rollouts:0.0} | 8 per 5 s window = 96 |");
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture, $"Hand-over of {options.Rollouts} rollouts (`start --detach` from one client per namespace) to every rollout in analysis: {inAnalysis.TotalSeconds:0} s.");
    report.AppendLine();
    report.AppendLine("API requests in the steady window by verb and resource (per rollout-minute):");
    report.AppendLine();
    foreach (var (what, count) in steady.ApiByVerb.OrderByDescending(kv => kv.Value))
        report.AppendLine(CultureInfo.InvariantCulture, $"- {what}: {count} ({count / options.Rollouts / steady.Window.TotalMinutes:0.00})");
    report.AppendLine();

    // 2. Drain: SIGTERM releases every Lease.
    var drain = Stopwatch.StartNew();
    one.Signal(ChildProcess.Sigterm);
    if (!await one.WaitForExitAsync(TimeSpan.FromMinutes(2))) throw new TimeoutException("bench-a did not drain");
    var drained = drain.Elapsed;
    var releasedAll = (await HoldersAsync()).Values.All(h => h == "");
    report.AppendLine(CultureInfo.InvariantCulture, $"SIGTERM to exit with {options.Rollouts} rollouts driven: {drained.TotalSeconds:0.0} s (exit {one.ExitCode}; every Lease released: {releasedAll}).");
    report.AppendLine();

    // 3. Two replicas share them; one is killed, the survivor takes its rollouts.
    var b = StartReplica("bench-b");
    var c = StartReplica("bench-c");
    await WaitReadyAsync(b);
    await WaitReadyAsync(c);
    // A rollout not taken within three minutes is reported (with who holds its Lease) rather than failing the bench.
    var shared = Stopwatch.StartNew();
    var allShared = await TryWaitUntilAsync(async () => (await HoldersAsync()).Values.All(h => h == Holder("bench-b") || h == Holder("bench-c")),
        TimeSpan.FromMinutes(3));
    var notShared = (await HoldersAsync()).Where(kv => kv.Value != Holder("bench-b") && kv.Value != Holder("bench-c")).ToList();
    report.AppendLine(allShared
        ? $"Two fresh replicas (bench-b, bench-c) drive all {options.Rollouts} rollouts {shared.Elapsed.TotalSeconds:0} s after the drain."
        : $"**Found:** {notShared.Count} rollout(s) not taken by bench-b or bench-c within 3 minutes after the drain: " +
          string.Join(", ", notShared.Select(kv => $"{kv.Key} (Lease holder '{kv.Value}')")));
    report.AppendLine();
    Progress($"shared: {allShared}; not shared: {notShared.Count}");
    await Task.Delay(TimeSpan.FromSeconds(10));
    var shares = (await HoldersAsync()).Values.GroupBy(h => h).ToDictionary(g => g.Key, g => g.Count());
    var orphans = (await HoldersAsync()).Where(kv => kv.Value == Holder("bench-b")).Select(kv => kv.Key).ToList();
    var killed = Stopwatch.StartNew();
    b.Signal(9);
    await WaitUntilAsync(async () =>
    {
        var holders = await HoldersAsync();
        return orphans.All(o => holders[o] == Holder("bench-c"));
    }, TimeSpan.FromMinutes(5), "bench-c took bench-b's rollouts");
    var takeover = killed.Elapsed;
    Progress($"takeover of {orphans.Count} rollouts: {takeover.TotalSeconds:0.0} s");
    report.AppendLine("## Two replicas, then one killed (-9)");
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture, $"Rollouts per replica at steady state: {string.Join(", ", shares.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key.Split('@')[1].Split(' ')[0]} {kv.Value}"))} (fair share: ceil({options.Rollouts} / 2)).");
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture, $"Kill -9 of bench-b to bench-c holding all {orphans.Count} of its rollouts' Leases: {takeover.TotalSeconds:0.0} s (goal: Lease duration + 10 s = {(options.Lease + TimeSpan.FromSeconds(10)).TotalSeconds:0} s).");
    report.AppendLine();

    // 4. The gate opens: every rollout passes and completes on the survivor.
    var finish = Stopwatch.StartNew();
    prometheus.Open();
    await TryWaitUntilAsync(async () => (await StatusesAsync()).All(s => s is { Phase: RolloutPhase.Completed, CleanupDone: true }), TimeSpan.FromMinutes(5));
    var completed = (await StatusesAsync()).Count(s => s is { Phase: RolloutPhase.Completed, CleanupDone: true });
    report.AppendLine(CultureInfo.InvariantCulture, $"Gate opened to {completed} of {options.Rollouts} rollouts Completed (canary removed) on one replica: {finish.Elapsed.TotalSeconds:0} s.");
    c.Signal(ChildProcess.Sigterm);
    await c.WaitForExitAsync(TimeSpan.FromMinutes(1));
    return 0;
}
finally
{
    Console.Out.Write(report.ToString());
    foreach (var r in replicas.Values)
    {
        if (!r.HasExited) r.Signal(9);
        r.Dispose();
    }
    foreach (var rc in readiness) await rc.DisposeAsync();
}

string Holder(string replica) => new DriverIdentity("controller", replica, null, replica).ToString();

async Task HandOverAsync() =>
    await Task.WhenAll(rollouts.GroupBy(r => r.Ns).Select(async group =>
    {
        await using var ci = new KubesteadService(RealApiServer.Connect(options.Kubeconfig, "admin"), new KubesteadServiceOptions { Driver = new DriverIdentity("ci", "bench", null, "ci") });
        foreach (var (ns, app) in group)
        {
            await admin.CreateAsync(ResourceType.Deployment, ns, ControllerTestApp.Deployment(ns, app));
            await admin.CreateAsync(ResourceType.Service, ns, ControllerTestApp.Service(ns, app));
            await ci.StartAsync(new StartRequest { SpecYaml = ControllerTestApp.AnalysisRolloutSpec(ns, app, prometheus.Address), Detach = true, ControllerNamespace = home }, wait: false);
        }
    }));

async Task<Dictionary<string, string>> HoldersAsync()
{
    var result = rollouts.ToDictionary(r => $"{r.Ns}/{r.Name}", _ => "");
    foreach (var ns in namespaces)
        foreach (var lease in (await admin.ListAsync(ResourceType.Lease, ns, new ListOptions(ControllerHandoff.LeaseSelector))).Items)
            result[$"{ns}/{lease["metadata"]!["labels"]![RolloutStateStore.RolloutLabel]!.GetValue<string>()}"] = lease["spec"]?["holderIdentity"]?.GetValue<string>() ?? "";
    return result;
}

async Task<List<RolloutStatus>> StatusesAsync()
{
    var store = new RolloutStateStore(admin);
    var result = new List<RolloutStatus>();
    foreach (var ns in namespaces) result.AddRange((await store.ListAsync(ns)).Select(r => r.Status));
    return result;
}

async Task WaitReadyAsync(ChildProcess replica) =>
    await WaitUntilAsync(async () => replica.Out.Contains("\"controller.listening\"", StringComparison.Ordinal) && (await GetAsync(replica, "/readyz")).Ok,
        TimeSpan.FromMinutes(2), "replica ready");

async Task<bool> TryWaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
{
    var until = DateTime.UtcNow + timeout;
    while (DateTime.UtcNow < until)
    {
        if (await condition()) return true;
        await Task.Delay(250);
    }
    return false;
}

async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
{
    var until = DateTime.UtcNow + timeout;
    while (DateTime.UtcNow < until)
    {
        if (await condition()) return;
        await Task.Delay(250);
    }
    throw new TimeoutException($"not within {timeout}: {what}\n" + string.Join("\n---\n", replicas.Values.Select(r => r.Out[^Math.Min(3000, r.Out.Length)..] + r.Err)));
}

static Uri BaseAddress(ChildProcess replica)
{
    foreach (var line in replica.Out.Split('\n'))
        if (line.Contains("\"controller.listening\"", StringComparison.Ordinal) && System.Text.Json.Nodes.JsonNode.Parse(line)?["address"]?.GetValue<string>() is { } address)
            return new Uri($"http://{address}");
    throw new InvalidOperationException("the replica never logged controller.listening");
}

static async Task<(bool Ok, string Body)> GetAsync(ChildProcess replica, string path)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
    try
    {
        using var response = await http.GetAsync(new Uri(BaseAddress(replica), path));
        return (response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
    catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
    {
        return (false, "");
    }
}

// CPU from /proc/<pid>/stat (utime + stime), RSS from /proc/<pid>/status sampled every second (the largest is kept),
// API requests from the replica's own /metrics counter (every HTTP request it sent, watches included).
async Task<Sample> MeasureAsync(ChildProcess replica, TimeSpan window)
{
    var before = (await GetAsync(replica, "/metrics")).Body;
    var queriesBefore = prometheus.Queries;
    var cpuBefore = CpuSeconds(replica.Id);
    var clock = Stopwatch.StartNew();
    var maxRss = 0L;
    while (clock.Elapsed < window)
    {
        maxRss = Math.Max(maxRss, RssBytes(replica.Id));
        await Task.Delay(1000);
    }
    var elapsed = clock.Elapsed;
    var cpu = CpuSeconds(replica.Id) - cpuBefore;
    var after = (await GetAsync(replica, "/metrics")).Body;
    var byVerb = ApiByVerb(after);
    foreach (var (k, v) in ApiByVerb(before)) byVerb[k] = byVerb.GetValueOrDefault(k) - v;
    var api = ExpositionText.Sum(after, "kubestead_controller_api_requests_total", null) - ExpositionText.Sum(before, "kubestead_controller_api_requests_total", null);
    return new Sample(elapsed, cpu / elapsed.TotalSeconds, maxRss / 1e6, api / elapsed.TotalMinutes, (prometheus.Queries - queriesBefore) / elapsed.TotalMinutes,
        byVerb.Where(kv => kv.Value > 0).ToDictionary());
}

static Dictionary<string, double> ApiByVerb(string exposition)
{
    var result = new Dictionary<string, double>();
    foreach (var line in exposition.Split('\n').Where(l => l.StartsWith("kubestead_controller_api_requests_total{", StringComparison.Ordinal)))
    {
        var labels = line[(line.IndexOf('{') + 1)..line.LastIndexOf('}')].Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('"'));
        var key = $"{labels["verb"]} {labels["resource"]}";
        result[key] = result.GetValueOrDefault(key) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
    return result;
}

static double CpuSeconds(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the command name, in clock ticks (100 a second on Linux).
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static long RssBytes(int pid)
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    return 0;
}

internal sealed record Sample(TimeSpan Window, double Cores, double MaxRssMb, double ApiPerMinute, double QueriesPerMinute, Dictionary<string, double> ApiByVerb)
{
    public override string ToString() =>
        $"{Cores:0.000} cores, {MaxRssMb:0} MB, {ApiPerMinute:0.0} API requests/min, {QueriesPerMinute:0} Prometheus queries/min over {Window.TotalSeconds:0} s";
}

internal sealed record BenchOptions(string Kubeconfig, int Rollouts, TimeSpan Lease, TimeSpan Steady)
{
    public static BenchOptions Parse(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new BenchOptions(
            Arg("--kubeconfig") ?? Environment.GetEnvironmentVariable("KUBESTEAD_TEST_KUBECONFIG") ?? throw new ArgumentException("--kubeconfig is required"),
            int.Parse(Arg("--rollouts") ?? "100", CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(int.Parse(Arg("--lease-seconds") ?? "15", CultureInfo.InvariantCulture)),
            TimeSpan.FromSeconds(int.Parse(Arg("--steady-seconds") ?? "60", CultureInfo.InvariantCulture)));
    }
}
