using System.Globalization;
using System.Text;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;

namespace Kubestead.Cli;

/// <summary>
/// CI-friendly output: on GitHub Actions a markdown summary in $GITHUB_STEP_SUMMARY and ::error/::warning annotations;
/// on Azure DevOps logging commands (logissue, setprogress, complete). Writes to the CLI's error stream so a JSON
/// document on stdout stays clean.
/// </summary>
public sealed class CiReporter(CliContext ctx)
{
    // Texts of the warnings annotated so far: the final report must not annotate the same event a second time.
    private readonly List<string> _warned = new();

    public static CiReporter? For(CliContext ctx) => ctx.IsGitHubActions || ctx.IsAzureDevOps ? new CiReporter(ctx) : null;

    public void OnEvent(RolloutEvent e)
    {
        switch (e)
        {
            case WarningEvent w:
                Issue("warning", $"{w.Namespace}/{w.Rollout}", w.Text);
                break;
            case StepStartedEvent s when ctx.IsAzureDevOps:
                ctx.Error.WriteLine($"##vso[task.setprogress value={100 * s.StepIndex / Math.Max(1, s.StepCount)};]{Escape(s.Message)}");
                break;
        }
    }

    /// <summary>`kubestead report` wrote a file: name it in the step summary (GitHub) and as an artifact hint (Azure DevOps).</summary>
    public void OnReport(string reportPath)
    {
        if (ctx.IsGitHubActions && ctx.Environment("GITHUB_STEP_SUMMARY") is { Length: > 0 } path)
            File.AppendAllText(path, ReportLine(reportPath) + "\n\n");
        if (ctx.IsAzureDevOps) ctx.Error.WriteLine($"Kubestead report: {Escape(reportPath)} (publish it with PublishPipelineArtifact)");
    }

    public void OnError(string errorId, string message) => Issue("error", errorId, message);

    /// <summary>
    /// Final report: summary table and chart (GitHub), annotations for a rollback or a pause, task result (Azure DevOps).
    /// <paramref name="reportPath"/>, when an HTML report was written, is named so a workflow step can upload it.
    /// </summary>
    public void OnResult(RolloutResult r, string? reportPath = null)
    {
        if (ctx.IsGitHubActions && ctx.Environment("GITHUB_STEP_SUMMARY") is { Length: > 0 } path)
            File.AppendAllText(path, Summary(r, reportPath));
        switch (r.Phase)
        {
            case RolloutPhase.Aborted or RolloutPhase.Failed:
                Issue("error", $"Rollout {r.Namespace}/{r.Name} rolled back", r.Message);
                if (ctx.IsAzureDevOps) ctx.Error.WriteLine("##vso[task.complete result=Failed;]rolled back");
                break;
            case RolloutPhase.Paused:
                // The engine warns as it pauses (for every reason but a person's); that annotation is this event's one.
                if (!_warned.Any(w => w.Contains(r.Message, StringComparison.Ordinal)))
                    Issue("warning", $"Rollout {r.Namespace}/{r.Name} paused ({r.PauseReason})", r.Message);
                if (ctx.IsAzureDevOps) ctx.Error.WriteLine("##vso[task.complete result=Failed;]paused");
                break;
        }
    }

    internal static string Summary(RolloutResult r, string? reportPath = null)
    {
        var sb = new StringBuilder();
        var icon = r.Phase switch { RolloutPhase.Completed => "✅", RolloutPhase.Paused => "⏸️", RolloutPhase.Aborted or RolloutPhase.Failed => "❌", _ => "🔄" };
        sb.AppendLine(CultureInfo.InvariantCulture, $"### {icon} Kubestead rollout `{r.Namespace}/{r.Name}`: {r.Phase}{(r.PauseReason is { } p ? $" ({p})" : "")}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Message}");
        sb.AppendLine();
        if (SummaryChart.Mermaid(r) is { } chart)
        {
            sb.AppendLine(chart);
            sb.AppendLine();
        }
        if (reportPath is not null)
        {
            sb.AppendLine(ReportLine(reportPath));
            sb.AppendLine();
        }
        sb.AppendLine("| time | event | canary weight |");
        sb.AppendLine("|---|---|---|");
        foreach (var h in r.History.Where(h => h.Kind is "setWeight" or "step" or "abort" or "complete" or "paused" or "start"))
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {h.At:HH:mm:ss} | {h.Message.Replace("|", "\\|")} | {(h.CanaryWeight is { } w ? $"{w:0.###}%" : "")} |");
        var rows = r.Verdicts.Select(v => (Metric: v.Metric, Verdict: v))
            .Concat(r.BackgroundVerdicts.Select(v => (Metric: $"{v.Metric} (background, whole rollout)", Verdict: v))).ToList();
        if (rows.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| metric | verdict | canary failed/requests | control failed/requests | summary |");
            sb.AppendLine("|---|---|---|---|---|");
            foreach (var (metric, v) in rows)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {metric} | {v.Outcome} | {v.CanaryFailures}/{v.CanaryRequests} | {v.ControlFailures}/{v.ControlRequests} | {v.Summary.Replace("|", "\\|")} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private static string ReportLine(string reportPath) =>
        $"📊 Report with charts: `{Path.GetFileName(reportPath).Replace("`", "'")}` (upload `{reportPath.Replace("`", "'")}` with actions/upload-artifact to keep it)";

    private void Issue(string level, string title, string message)
    {
        if (level == "warning") _warned.Add(message);
        if (ctx.IsGitHubActions) ctx.Error.WriteLine($"::{level} title={EscapeProperty(title)}::{EscapeData(message)}");
        if (ctx.IsAzureDevOps) ctx.Error.WriteLine($"##vso[task.logissue type={level}]{Escape(title)}: {Escape(message)}");
    }

    // GitHub workflow-command escaping: data escapes %, CR, LF; properties also ':' and ','.
    private static string EscapeData(string s) => s.Replace("%", "%25").Replace("\r", "%0D").Replace("\n", "%0A");

    private static string EscapeProperty(string s) => EscapeData(s).Replace(":", "%3A").Replace(",", "%2C");

    // Azure DevOps logging commands end at a line break and treat ';' and ']' in properties specially.
    private static string Escape(string s) => s.Replace("\r", " ").Replace("\n", " ");
}
