using System.Text.Json.Nodes;
using Kubestead.Controller;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Cli;

/// <summary>
/// The controller's log: one JSON object per line (what log collectors in a cluster parse), with the rollout, the step
/// and the verdict as fields of their own rather than inside the message.
/// </summary>
public sealed class ControllerLog(TextWriter output, string replica, bool verbose) : IControllerObserver, IRolloutObserver
{
    private readonly object _gate = new();

    public void OnEvent(ControllerEvent e)
    {
        var level = e.Kind is ControllerEventKind.Failed or ControllerEventKind.Trouble or ControllerEventKind.LeaseLost ? "warning" : "info";
        if (!verbose && e.Kind is ControllerEventKind.OverShare or ControllerEventKind.Locked or ControllerEventKind.Reconciled) return;
        var line = Line(e.At, level, "controller." + OutputFormat.Camel(e.Kind.ToString()), e.Rollout?.Namespace, e.Rollout?.Name, e.Message);
        Write(line);
    }

    public void OnEvent(RolloutEvent e)
    {
        if (!verbose && e is VerboseEvent or WaitingEvent) return;
        var line = Line(e.At, e is WarningEvent ? "warning" : e is VerboseEvent or WaitingEvent ? "debug" : "info",
            "rollout." + OutputFormat.Camel(e.GetType().Name.Replace("Event", "", StringComparison.Ordinal)), e.Namespace, e.Rollout, e.Message);
        switch (e)
        {
            case StepStartedEvent s:
                line["step"] = s.StepIndex + 1;
                line["stepCount"] = s.StepCount;
                break;
            case VerdictEvent v:
                line["metric"] = v.Verdict.Metric;
                line["verdict"] = v.Verdict.Outcome.ToString();
                break;
            case BackgroundVerdictEvent b:
                line["metric"] = b.Verdict.Metric;
                line["verdict"] = b.Verdict.Outcome.ToString();
                break;
            case WeightAppliedEvent w:
                line["canaryWeight"] = w.CanaryPercent;
                break;
            case PhaseChangedEvent p:
                line["phase"] = p.Phase.ToString();
                break;
        }
        Write(line);
    }

    /// <summary>Where /metrics, /healthz and /readyz answer (the port matters when 0 was asked for).</summary>
    public void Listening(System.Net.IPEndPoint address)
    {
        var line = Line(DateTimeOffset.UtcNow, "info", "controller.listening", null, null, $"serving /metrics, /healthz and /readyz on http://{address}");
        line["address"] = address.ToString();
        Write(line);
    }

    private JsonObject Line(DateTimeOffset at, string level, string evt, string? ns, string? rollout, string message)
    {
        var line = new JsonObject { ["time"] = at.UtcDateTime.ToString("O"), ["level"] = level, ["replica"] = replica, ["event"] = evt };
        if (!string.IsNullOrEmpty(ns)) line["namespace"] = ns;
        if (!string.IsNullOrEmpty(rollout)) line["rollout"] = rollout;
        line["message"] = message;
        return line;
    }

    private void Write(JsonObject line)
    {
        try
        {
            lock (_gate)
            {
                output.WriteLine(line.ToJsonString());
                output.Flush();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // A closed stdout must not stop the controller.
        }
    }
}
