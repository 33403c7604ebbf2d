using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Kubestead.Analysis;
using Kubestead.Reports;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Core.Tests.Reports;

public class RolloutReportTests
{
    private static readonly XNamespace X = "http://www.w3.org/1999/xhtml";
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The page must be well-formed XHTML: a strict XML parser reads it (only the HTML5 doctype is skipped).</summary>
    public static XDocument Parse(string html)
    {
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null });
        return XDocument.Load(reader);
    }

    [Fact]
    public void Every_chart_shows_exactly_the_stored_history()
    {
        var r = Rollout("shop", "shop", "canary failure rate is worse than control");
        var doc = Parse(RolloutReportWriter.Render(r, T0.AddHours(1)));

        Assert.Equal(r.History.Where(h => h.CanaryWeight is not null).Select(h => (h.At, h.CanaryWeight!.Value)), Points(doc, "chart-weight", "weight"));
        var windows = r.Timeline!.Windows;
        Assert.Equal(windows.Where(w => w.Metrics[0].CanaryRequests > 0).Select(w => (w.End, (double)w.Metrics[0].CanaryFailures / w.Metrics[0].CanaryRequests)),
            Points(doc, "chart-failures", "canary"));
        Assert.Equal(windows.Select(w => (w.End, (double)w.Metrics[0].ControlFailures / w.Metrics[0].ControlRequests)), Points(doc, "chart-failures", "control"));
        Assert.Equal(windows.Select(w => (w.End, w.Metrics[0].EValue!.Value)), Points(doc, "chart-evidence-0", "canary"));
        Assert.Equal(windows.Select(w => (w.End, w.Metrics[0].PassEValue!.Value)), Points(doc, "chart-evidence-0", "pass"));
        Assert.Equal(windows.Select(w => (w.End, w.Metrics[0].CanaryP95Ms!.Value)), Points(doc, "chart-latency", "canary"));
        Assert.Equal(windows.Select(w => (w.End, w.Metrics[0].ControlP95Ms!.Value)), Points(doc, "chart-latency", "control"));

        // Higher values are drawn higher (smaller y), also on the log scale.
        foreach (var (chart, series) in new[] { ("chart-failures", "canary"), ("chart-evidence-0", "canary"), ("chart-weight", "weight") })
        {
            var circles = Circles(doc, chart, series).Select(c => (V: D(c, "data-v"), Y: D(c, "cy"))).OrderBy(p => p.V).ToList();
            for (var i = 1; i < circles.Count; i++)
                Assert.True(circles[i].V == circles[i - 1].V ? circles[i].Y == circles[i - 1].Y : circles[i].Y < circles[i - 1].Y, $"{chart} {series} y order");
        }

        // Consecutive insufficient-data windows are shaded as one span; the pause is shaded on the weight chart.
        var insufficient = Chart(doc, "chart-failures").Descendants(Svg + "rect").Where(e => Class(e).Contains("insufficient") && e.Attribute("data-from") is not null).ToList();
        Assert.Equal([(windows[0].Start, windows[2].End), (windows[5].Start, windows[5].End), (windows[10].Start, windows[10].End), (windows[15].Start, windows[15].End)],
            insufficient.Select(e => (T(e, "data-from"), T(e, "data-to"))));
        var paused = Chart(doc, "chart-weight").Descendants(Svg + "rect").Single(e => Class(e).Contains("paused") && e.Attribute("data-from") is not null);
        Assert.Equal((T0.AddSeconds(100), T0.AddSeconds(130)), (T(paused, "data-from"), T(paused, "data-to")));
        // The threshold the verdict is measured against, and the abort where it happened.
        Assert.Equal(40, D(Chart(doc, "chart-evidence-0").Descendants(Svg + "line").Single(e => Class(e).Contains("threshold")), "data-v"));
        Assert.Equal(T0.AddSeconds(200), T(Chart(doc, "chart-weight").Descendants(Svg + "line").Single(e => Class(e).Contains("m-abort")), "data-t"));
        Assert.Equal(windows[^1].End, T(Chart(doc, "chart-evidence-0").Descendants(Svg + "line").Single(e => Class(e).Contains("m-abort")), "data-t"));

        // Tables: one row per verdict (background ones first, marked as the whole rollout's) and per event.
        var verdictRows = doc.Descendants(X + "table").Single(t => (string?)t.Attribute("id") == "verdicts").Descendants(X + "tbody").Single().Elements(X + "tr").ToList();
        Assert.Equal(r.Verdicts.Count + r.BackgroundVerdicts.Count, verdictRows.Count);
        Assert.Equal(r.BackgroundVerdicts.Select(_ => "whole rollout (background)").Concat(r.Verdicts.Select(_ => "this step")),
            verdictRows.Select(tr => tr.Elements(X + "td").ElementAt(2).Value));
        Assert.Equal(r.History.Count, doc.Descendants(X + "table").Single(t => (string?)t.Attribute("id") == "events").Descendants(X + "tbody").Single().Elements(X + "tr").Count());
    }

    [Fact]
    public void The_page_is_self_contained_accessible_and_has_both_colour_schemes()
    {
        var html = RolloutReportWriter.Render(Rollout("shop", "shop", "m"), T0);
        var doc = Parse(html);
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "script" or "link" or "img" or "iframe" or "object" or "embed");
        Assert.DoesNotContain(doc.Descendants().Attributes(), a => a.Name.LocalName is "src" or "href" || a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
        Assert.DoesNotContain("url(", html, StringComparison.Ordinal);
        Assert.DoesNotContain("@import", html, StringComparison.Ordinal);
        Assert.Contains("prefers-color-scheme: dark", html, StringComparison.Ordinal);
        var charts = doc.Descendants(Svg + "svg").ToList();
        Assert.Equal(4, charts.Count);
        foreach (var svg in charts)
        {
            Assert.Equal("img", (string?)svg.Attribute("role"));
            var title = svg.Element(Svg + "title");
            var desc = svg.Element(Svg + "desc");
            Assert.False(string.IsNullOrWhiteSpace(title?.Value));
            Assert.False(string.IsNullOrWhiteSpace(desc?.Value));
            Assert.Equal($"{title!.Attribute("id")!.Value} {desc!.Attribute("id")!.Value}", (string?)svg.Attribute("aria-labelledby"));
        }
        // Every data point has a hover title with its counts.
        Assert.All(doc.Descendants(Svg + "circle"), c => Assert.False(string.IsNullOrWhiteSpace(c.Element(Svg + "title")?.Value)));
        Assert.Contains(Circles(doc, "chart-failures", "canary"), c => c.Element(Svg + "title")!.Value.Contains("9 of 100 requests failed", StringComparison.Ordinal));
    }

    [Fact]
    public void Everything_from_the_cluster_is_escaped()
    {
        const string evil = "x\"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;";
        var r = Rollout(evil, "ns<b>", evil) with
        {
            Verdicts = [new Verdict(evil, evil, VerdictOutcome.Fail, 1, 1, 1, 0, null, null, 50, null, evil)],
        };
        r = r with
        {
            History = r.History.Append(new RolloutHistoryEntry(T0.AddSeconds(205), evil, evil, evil)).ToList(),
            Timeline = r.Timeline! with { Judges = [new TimelineJudge(r.Timeline.Judges[0].Metric, evil, 40)] },
        };
        var html = RolloutReportWriter.Render(r, T0);
        var doc = Parse(html);
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "script" or "img" or "b");
        Assert.DoesNotContain(doc.Descendants().Attributes(), a => a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
        // The text survives intact as text.
        Assert.Contains(evil, doc.Descendants(X + "title").Single().Value, StringComparison.Ordinal);
        Assert.Contains(doc.Descendants(X + "td"), td => td.Value == evil);
        Assert.Contains(doc.Descendants(Svg + "title"), t => t.Value.Contains(evil, StringComparison.Ordinal));
    }

    [Fact]
    public void A_rollout_without_analysis_still_renders_the_weight_and_events()
    {
        var r = Rollout("shop", "shop", "m") with { Timeline = null, Verdicts = [] };
        var doc = Parse(RolloutReportWriter.Render(r, T0));
        Assert.Single(doc.Descendants(Svg + "svg"));
        Assert.Contains(doc.Descendants(X + "p"), p => p.Value.Contains("No analysis window", StringComparison.Ordinal));
    }

    [Fact]
    public void History_rows_interleave_events_and_windows_in_time_order()
    {
        var r = Rollout("shop", "shop", "m");
        var rows = RolloutHistoryRow.For(r);
        Assert.Equal(r.History.Count + r.Timeline!.Windows.Count, rows.Count);
        Assert.Equal(rows.OrderBy(x => x.At).Select(x => x.At), rows.Select(x => x.At));
        var window = rows.First(x => x.Kind == RolloutHistoryRow.WindowKind && x.CanaryRequests > 0);
        Assert.Equal((double)window.CanaryFailures! / window.CanaryRequests!, window.CanaryFailureRate);
        Assert.Equal(40, window.Threshold);
        Assert.Equal("sequential", window.Judge);
        Assert.Null(rows.First(x => x.Kind == RolloutHistoryRow.WindowKind && x.CanaryRequests == 0).CanaryFailureRate);
    }

    /// <summary>A rollout with steps, a pause, insufficient data, a failing canary and the abort.</summary>
    [Fact]
    public void Warm_up_spans_are_shaded_on_the_failure_chart()
    {
        var r = Rollout("shop", "shop", "m");
        r = r with { Timeline = r.Timeline!.AppendWarmup(T0.AddSeconds(20), T0.AddSeconds(25)).AppendWarmup(T0.AddSeconds(25), T0.AddSeconds(40)) };
        var doc = Parse(RolloutReportWriter.Render(r, T0.AddHours(1)));
        var warm = Chart(doc, "chart-failures").Descendants(Svg + "rect").Where(e => Class(e).Contains("warmup") && e.Attribute("data-from") is not null).ToList();
        Assert.Equal([(T0.AddSeconds(20), T0.AddSeconds(40))], warm.Select(e => (T(e, "data-from"), T(e, "data-to"))));
        Assert.Contains("warm-up", Chart(doc, "chart-failures").Value);
    }

    public static RolloutResult Rollout(string name, string ns, string message)
    {
        var history = new List<RolloutHistoryEntry>
        {
            new(T0, "d", "start", "rollout started"),
            new(T0.AddSeconds(20), "d", "setWeight", "stable 95% / canary 5%", 5),
            new(T0.AddSeconds(20), "d", "step", "step 1 done: weight 5%", 5),
            new(T0.AddSeconds(100), "d", "paused", "paused by a person"),
            new(T0.AddSeconds(130), "d", "progressing", "resumed"),
            new(T0.AddSeconds(140), "d", "setWeight", "stable 75% / canary 25%", 25),
            new(T0.AddSeconds(200), "d", "abort", message),
            new(T0.AddSeconds(210), "d", "cleanup", "traffic on stable", 0),
        };
        var windows = new List<TimelineWindow>();
        for (var i = 0; i < 18; i++)
        {
            var start = T0.AddSeconds(20 + 10 * i);
            var canary = i == 1 ? 0 : 100;
            var failures = i < 3 ? 0 : 9;
            var outcome = i < 3 || i % 5 == 0 ? VerdictOutcome.InsufficientData : i == 17 ? VerdictOutcome.Fail : VerdictOutcome.Error;
            windows.Add(new TimelineWindow(start, start.AddSeconds(10), i < 12 ? 5 : 25,
                [new TimelineMetric("error-rate", canary, canary == 0 ? 0 : failures, 1000 + i, i % 3, outcome, Math.Pow(1.4, i) * 0.9, Math.Pow(0.8, i), 100 + i, 80 + i)]));
        }
        var timeline = windows.Aggregate(new AnalysisTimeline(), (t, w) => t.Append(w, [new TimelineJudge("error-rate", "sequential", 40)]));
        return new RolloutResult(name, ns, RolloutPhase.Aborted, null, message, "istio", 3, 9, null, 100, 0,
            [new Verdict("sequential", "error-rate", VerdictOutcome.Fail, 1500, 130, 18000, 17, 4.1, 0.01, 65, 10, "canary worse")],
            history, T0, T0.AddSeconds(210), T0.AddSeconds(210), "d")
        {
            Timeline = timeline,
            BackgroundVerdicts = [new Verdict("sequential", "error-rate", VerdictOutcome.Fail, 1700, 150, 21000, 20, 4.2, 0.01, 70, 10, "background: canary worse")],
        };
    }

    [Fact]
    public void A_step_verdict_whose_evidence_of_worse_crossed_the_threshold_says_the_step_cannot_pass_in_the_verdict_column()
    {
        var r = Rollout("shop", "shop", "m") with
        {
            Verdicts = [new Verdict("sequential", "error-rate", VerdictOutcome.InsufficientData, 900, 80, 9000, 9, null, null, 203, null, "e-value 203 >= 40")],
        };
        var doc = Parse(RolloutReportWriter.Render(r, T0));
        var rows = doc.Descendants(X + "table").Single(t => (string?)t.Attribute("id") == "verdicts").Descendants(X + "tbody").Single().Elements(X + "tr").ToList();
        var step = rows.Single(tr => tr.Elements(X + "td").ElementAt(2).Value == "this step").Elements(X + "td").ElementAt(3).Value;
        var background = rows.Single(tr => tr.Elements(X + "td").ElementAt(2).Value != "this step").Elements(X + "td").ElementAt(3).Value;

        Assert.StartsWith("InsufficientData: evidence of worse crossed the threshold", step);
        Assert.Contains("this step cannot pass; aborting is the background judge's call", step);
        Assert.Equal("Fail", background);
    }

    [Fact]
    public void The_weight_drops_to_zero_and_a_traffic_to_stable_row_appears_when_the_aborts_write_is_recorded()
    {
        var r = Rollout("shop", "shop", "canary worse");
        var abortAt = T0.AddSeconds(200);
        var cleanupAt = r.History[^1].At;
        var written = new RolloutHistoryEntry(abortAt, "d", RolloutHistoryEntry.TrafficToStableKind, "traffic to stable on VirtualService shop: stable 100%, canary 0%", 0);
        r = r with { History = [.. r.History.Take(r.History.Count - 1), written, r.History[^1]] };
        var doc = Parse(RolloutReportWriter.Render(r, T0.AddHours(1)));

        // The step line leaves 25% at the abort's write, not at clean-up.
        var weights = Points(doc, "chart-weight", "weight");
        Assert.Equal((abortAt, 0.0), weights.First(p => p.Item2 == 0));
        Assert.True(abortAt < cleanupAt);
        // The write is the line, not another marker over the abort's.
        Assert.Single(Chart(doc, "chart-weight").Descendants(Svg + "line").Where(e => Class(e).Split(' ').Contains("marker")), e => T(e, "data-t") == abortAt);
        var row = doc.Descendants(X + "table").Single(t => (string?)t.Attribute("id") == "events").Descendants(X + "tbody").Single().Elements(X + "tr")
            .Single(tr => tr.Elements(X + "td").ElementAt(2).Value == "traffic to stable").Elements(X + "td").Select(td => td.Value).ToList();
        Assert.Equal(["09:03:20", "0%"], [row[0], row[3]]);
    }

    [Fact]
    public void An_older_status_without_the_write_entry_keeps_the_weight_until_clean_up()
    {
        var r = Rollout("shop", "shop", "canary worse");
        var doc = Parse(RolloutReportWriter.Render(r, T0.AddHours(1)));
        Assert.Equal((r.History[^1].At, 0.0), Points(doc, "chart-weight", "weight").First(p => p.Item2 == 0));
        Assert.DoesNotContain(doc.Descendants(X + "td"), td => td.Value == "traffic to stable");
    }

    private static XElement Chart(XDocument doc, string id) => doc.Descendants(Svg + "svg").Single(e => (string?)e.Attribute("id") == id);

    private static IEnumerable<XElement> Circles(XDocument doc, string chart, string series) =>
        Chart(doc, chart).Elements(Svg + "g").Single(g => Class(g).Split(' ').Contains("series") && Class(g).Split(' ').Contains(series)).Elements(Svg + "circle");

    private static List<(DateTimeOffset, double)> Points(XDocument doc, string chart, string series) =>
        Circles(doc, chart, series).Select(c => (T(c, "data-t"), D(c, "data-v"))).ToList();

    private static string Class(XElement e) => (string?)e.Attribute("class") ?? "";

    private static double D(XElement e, string attribute) => double.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    private static DateTimeOffset T(XElement e, string attribute) => DateTimeOffset.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);
}
