using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Cli.Tests;

/// <summary>`kubestead history`, `kubestead report`, `demo --report` and the step summary's chart.</summary>
public class ReportCliTests
{
    internal static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static string Repo => Kubestead.Tests.Shared.RepositoryRoot.Path;

    internal static async Task<(int Code, string Out, string Err, RolloutResult? Demo)> Run(SandboxEnvironment? env, Dictionary<string, string?>? vars, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        RolloutResult? demo = null;
        var ctx = new CliContext
        {
            Out = output,
            Error = error,
            Environment = k => vars?.GetValueOrDefault(k),
            IsTerminal = false,
            Connect = (_, observer, _) => Task.FromResult<IKubesteadService>(
                (env ?? throw new InvalidOperationException("this test gives no cluster")).CreateService(observer, "cli-test")),
            Demo = async (mesh, scenario, observer, seed, ct) =>
            {
                var result = await SandboxDemo.RunAsync(mesh, scenario, DemoSpecs.For(mesh), observer, seed, ct);
                demo = result.Rollout;
                return result;
            },
        };
        var code = await Task.Run(() => new CliApp(ctx).RunAsync(args));
        return (code, output.ToString(), error.ToString(), demo);
    }

    internal static XDocument ParseStrictly(string path)
    {
        using var reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null });
        return XDocument.Load(reader);
    }

    internal static string TempFile(string name) => Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}-{name}");

    [Fact]
    public async Task The_faulty_demo_report_shows_the_weight_step_the_failures_and_the_evidence_crossing_when_it_aborted()
    {
        var path = TempFile("faulty.html");
        var (code, stdout, _, rollout) = await Run(null, null, "demo", "--scenario", "faulty", "--report", path);
        Assert.Equal(ExitCodes.RolledBack, code);
        Assert.Contains($"Report written to {path}", stdout);
        var doc = ParseStrictly(path);

        var abort = rollout!.History.Single(h => h.Kind == "abort");
        var failed = rollout.Timeline!.Windows.First(w => w.Metrics.Any(m => m.Outcome == Kubestead.Analysis.VerdictOutcome.Fail));
        Assert.Equal(failed.End, abort.At); // the engine aborted at the end of the window whose verdict was Fail

        // Each window records the weight it ran at (windows are analysed when they close, possibly after the next step).
        var setWeight = rollout.History.First(h => h.Kind == "setWeight").At;
        Assert.All(rollout.Timeline.Windows, w => Assert.Equal(w.Start < setWeight ? 0 : 5, w.CanaryWeight));

        // (1) the weight step to 5% and the abort marked at its time
        var weights = Points(doc, "chart-weight", "weight");
        Assert.Contains(weights, p => p.Value == 5 && p.At == rollout.History.First(h => h.Kind == "setWeight").At);
        Assert.Equal(abort.At, Time(Chart(doc, "chart-weight").Descendants(Svg + "line").Single(l => Class(l).Contains("m-abort")), "data-t"));
        // ... and the weight back at 0 from the abort's traffic write, not only once clean-up ended (scaleDownDelay later)
        var first = weights.First(p => p.At >= abort.At);
        Assert.Equal((abort.At, 0.0), (first.At, first.Value));
        Assert.True(abort.At < rollout.History.Single(h => h.Kind == "cleanup").At);
        Assert.Contains(doc.Descendants(), e => e.Name.LocalName == "td" && e.Value == "traffic to stable");
        // (2) the canary's failures: far above control's in the window that decided
        var canary = Points(doc, "chart-failures", "canary");
        var control = Points(doc, "chart-failures", "control");
        Assert.True(canary.Single(p => p.At == failed.End).Value > 10 * control.Single(p => p.At == failed.End).Value);
        // (3) the e-value crosses the threshold exactly at the abort
        var threshold = double.Parse(Chart(doc, "chart-evidence-0").Descendants(Svg + "line").Single(l => Class(l).Contains("threshold")).Attribute("data-v")!.Value, CultureInfo.InvariantCulture);
        Assert.Equal(40, threshold);
        var evidence = Points(doc, "chart-evidence-0", "canary");
        Assert.Equal(abort.At, evidence.First(p => p.Value >= threshold).At);
        Assert.All(evidence.Where(p => p.At < abort.At), p => Assert.True(p.Value < threshold));
        Assert.Equal(abort.At, Time(Chart(doc, "chart-evidence-0").Descendants(Svg + "line").Single(l => Class(l).Contains("m-abort")), "data-t"));
    }

    [Fact]
    public async Task History_prints_csv_json_and_text_and_report_writes_the_file()
    {
        var env = SandboxEnvironment.Create("istio", "faulty");
        var spec = Path.Combine(Repo, "examples", "sandbox", "istio.yaml");
        Assert.Equal(ExitCodes.RolledBack, (await Run(env, null, "start", "-f", spec, "-n", "shop")).Code);

        var csv = await Run(env, null, "history", "shop", "-n", "shop", "-o", "csv");
        Assert.Equal(0, csv.Code);
        var lines = csv.Out.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        Assert.Equal("name", header[0]);
        Assert.Contains("canaryFailureRate", header);
        Assert.Contains("eValue", header);
        var kind = Array.IndexOf(header, "kind");
        Assert.Contains(lines.Skip(1), l => l.Split(',')[kind] == "window");
        Assert.Contains(lines.Skip(1), l => l.Split(',')[kind] == "abort");

        var json = await Run(env, null, "history", "shop", "-n", "shop", "-o", "json");
        Assert.Equal(0, json.Code);
        var rows = JsonNode.Parse(json.Out)!.AsArray();
        Assert.Equal(lines.Length - 1, rows.Count);
        var window = rows.First(r => r!["kind"]!.GetValue<string>() == "window" && r["outcome"]!.GetValue<string>() == "Fail")!;
        Assert.True(window["eValue"]!.GetValue<double>() >= window["threshold"]!.GetValue<double>());

        var text = await Run(env, null, "history", "shop", "-n", "shop");
        Assert.Contains("E-VALUE", text.Out);

        var path = TempFile("shop.html");
        var report = await Run(env, null, "report", "shop", "-n", "shop", "-o", path);
        Assert.Equal(0, report.Code);
        Assert.Equal(4, ParseStrictly(path).Descendants(Svg + "svg").Count());

        var wrong = await Run(env, null, "status", "shop", "-n", "shop", "-o", "csv");
        Assert.Equal(ExitCodes.InvalidInput, wrong.Code);
        Assert.Contains("--output 'csv' is not one of: text, json", wrong.Err);
    }

    [Fact]
    public async Task The_step_summary_has_a_chart_and_names_the_report()
    {
        var summary = TempFile("summary.md");
        var path = TempFile("ci.html");
        var (code, _, _, rollout) = await Run(null, new() { ["GITHUB_ACTIONS"] = "true", ["GITHUB_STEP_SUMMARY"] = summary }, "demo", "--scenario", "faulty", "--report", path);
        Assert.Equal(ExitCodes.RolledBack, code);
        var md = File.ReadAllText(summary);
        Assert.Contains("```mermaid\nxychart-beta", md.ReplaceLineEndings("\n"));
        Assert.Contains(Path.GetFileName(path), md);
        // The chart's first line is the weight per window, as stored.
        var weightLine = md.ReplaceLineEndings("\n").Split('\n').First(l => l.TrimStart().StartsWith("line [", StringComparison.Ordinal));
        Assert.Equal(string.Join(", ", rollout!.Timeline!.Windows.Select(w => w.CanaryWeight.ToString("0.###", CultureInfo.InvariantCulture))), weightLine.Trim()[6..^1]);
    }

    internal static XElement Chart(XDocument doc, string id) => doc.Descendants(Svg + "svg").Single(e => (string?)e.Attribute("id") == id);

    private static List<(DateTimeOffset At, double Value)> Points(XDocument doc, string chart, string series) =>
        Chart(doc, chart).Elements(Svg + "g").Single(g => Class(g).Split(' ').Contains("series") && Class(g).Split(' ').Contains(series))
            .Elements(Svg + "circle").Select(c => (Time(c, "data-t"), double.Parse(c.Attribute("data-v")!.Value, CultureInfo.InvariantCulture))).ToList();

    private static string Class(XElement e) => (string?)e.Attribute("class") ?? "";

    private static DateTimeOffset Time(XElement e, string attribute) => DateTimeOffset.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);
}
