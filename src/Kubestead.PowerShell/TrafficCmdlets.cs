using System.Management.Automation;
using Kubestead.Analysis;
using Kubestead.Rollouts;

namespace Kubestead.PowerShell;

/// <summary>
/// Sets the canary's traffic share by hand (one write, read back). 100% is as drastic as a promotion: it asks unless
/// -Force or -Confirm:$false. Reads as `Set-CanaryWeight shop 10` and as `Get-KubesteadRollout shop | Set-CanaryWeight 10`.
/// </summary>
// "Pipeline" as the default set is what makes `Get-KubesteadRollout shop | Set-CanaryWeight 10` bind 10 to -Weight
// while `Set-CanaryWeight shop 10` still binds both by position.
[Cmdlet(VerbsCommon.Set, "CanaryWeight", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Pipeline")]
[OutputType(typeof(CanaryWeight))]
public sealed class SetCanaryWeightCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = "Pipeline", ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Name")]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Pipeline")]
    [ValidatePercent]
    public double Weight { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessInput()
    {
        var plan = Run((s, ct) => s.PlanAsync(new SetWeightOperation(Namespace ?? s.DefaultNamespace, Name, Weight), ct));
        if (!ConfirmPlan(plan, $"Set canary weight to {Weight}%", Name, Force, highImpact: Weight >= 100)) return;
        var result = Run((s, ct) => s.SetWeightAsync(Namespace, Name, Weight, ct));
        if (PassThru) WriteObject(Map.Weight(result));
    }
}

/// <summary>Gets the split as each mesh object states it, and the share observed in the metrics.</summary>
[Cmdlet(VerbsCommon.Get, "CanaryWeight")]
[OutputType(typeof(CanaryWeight))]
public sealed class GetCanaryWeightCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    protected override void ProcessInput() => WriteObject(Map.Weight(Run((s, ct) => s.GetWeightAsync(Namespace, Name, ct))));
}

/// <summary>
/// Routes requests carrying a header (default x-canary: true), or a cookie, to the canary. Header and cookie are two
/// parameter sets; outputs the rollout only with -PassThru. On Linkerd 1.x nothing is written and -PassThru's RequestHeaders
/// holds the l5d-dtab header to send (without -PassThru a warning names it).
/// </summary>
[Cmdlet(VerbsCommon.Set, "CanaryHeaderRoute", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Header")]
[OutputType(typeof(KubesteadRollout))]
public sealed class SetCanaryHeaderRouteCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string RouteName { get; set; } = "canary-testers";

    [Parameter(ParameterSetName = "Header")]
    public string HeaderName { get; set; } = "x-canary";

    [Parameter(ParameterSetName = "Header")]
    public string HeaderValue { get; set; } = "true";

    [Parameter(ParameterSetName = "Header")]
    [ValidateSet("Exact", "Prefix", "Regex")]
    public string MatchType { get; set; } = "Exact";

    /// <summary>
    /// Match this cookie instead of a header, by exact value (set CookieValue) or by a regex (set CookieRegex). Two sets,
    /// so the binder itself refuses both values together, or a -CookieName with neither, before anything is read.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "CookieValue")]
    [Parameter(Mandatory = true, ParameterSetName = "CookieRegex")]
    [ValidateNotNullOrEmpty]
    public string CookieName { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "CookieValue")]
    [ValidateNotNullOrEmpty]
    public string? CookieValue { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "CookieRegex")]
    [ValidateNotNullOrEmpty]
    public string? CookieRegex { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessInput()
    {
        var cookie = ParameterSetName switch
        {
            "CookieValue" => new Kubestead.Traffic.CookieMatch(CookieName, CookieValue!, IsRegex: false),
            "CookieRegex" => new Kubestead.Traffic.CookieMatch(CookieName, CookieRegex!, IsRegex: true),
            _ => null,
        };
        var route = new HeaderRouteRequest(RouteName, HeaderName, HeaderValue, Enum.Parse<HeaderMatchType>(MatchType, ignoreCase: true), cookie);
        var result = ChangeRollout(s => new SetHeaderRouteOperation(Namespace ?? s.DefaultNamespace, Name, route), "Add header route", Name, PassThru);
        // Linkerd 1.x routes by a header the client sends, and no route was written: without -PassThru (which returns
        // it as RequestHeaders) the header to send would be lost, and the call would look like it had changed routing.
        if (!PassThru && result?.RequestHeaders is { Count: > 0 } headers)
            WriteWarning($"Add header route {Name}: nothing routes by itself on Linkerd 1.x; testers reach the canary by sending " +
                         $"{string.Join(", ", headers.Select(h => $"{h.Key}: {h.Value}"))} (-PassThru returns it as RequestHeaders)");
    }
}

/// <summary>Removes a header route; outputs the rollout only with -PassThru. A route the rollout does not have is a warning, and nothing is written.</summary>
[Cmdlet(VerbsCommon.Remove, "CanaryHeaderRoute", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KubesteadRollout))]
public sealed class RemoveCanaryHeaderRouteCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string RouteName { get; set; } = "canary-testers";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessInput() =>
        ChangeRollout(s => new RemoveHeaderRouteOperation(Namespace ?? s.DefaultNamespace, Name, RouteName), "Remove header route", Name, PassThru);
}

/// <summary>Precision and expected samples for a weight, window and request rate (no cluster needed).</summary>
[Cmdlet(VerbsCommon.Get, "CanarySplitPlan")]
[OutputType(typeof(CanarySplitPlan))]
public sealed class GetCanarySplitPlanCommand : PSCmdlet, IDisposable
{
    // The plan runs on the pipeline thread; Ctrl+C arrives on another and cancels it here.
    private readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidatePercent]
    public double Weight { get; set; }

    [Parameter(Mandatory = true)]
    [ValidateRange(0, double.MaxValue)]
    public double RequestsPerSecond { get; set; }

    /// <summary>Seconds (300), a unit (5m) or hh:mm:ss.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    [Parameter]
    [ValidateSet("Binomial", "WeightedRoundRobin", "Pods")]
    public string Routing { get; set; } = "Binomial";

    [Parameter]
    [ValidateSet("istio", "linkerd", "smi", "none", "nginx", "linkerd1")]
    public string MeshProvider { get; set; } = "istio";

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? StableReplicas { get; set; }

    /// <summary>Plan with a created baseline (<c>baseline: {create: true}</c>): it takes the canary's share and the judges compare with it.</summary>
    [Parameter]
    public SwitchParameter Baseline { get; set; }

    /// <summary>
    /// How far the pods' failure rates differ persistently (φ², 0-1, as an undecided verdict reports it): the plan counts
    /// the Pass band it gives. Needs -StableReplicas.
    /// </summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double? PodVariance { get; set; }

    /// <summary>The canary's pods, for the band (default 1; without a mesh, the plan's own).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? CanaryReplicas { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(Map.Plan(KubesteadConnector.Offline().PlanSplit(new SplitPlanRequest(Weight, Window, RequestsPerSecond,
                Enum.Parse<CanaryRoutingMode>(Routing, ignoreCase: true), MeshProvider, StableReplicas, Baseline: Baseline.IsPresent)
            {
                PodVariance = PodVariance,
                CanaryReplicas = CanaryReplicas,
            }, _stop.Token)));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (KubesteadException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, e.ErrorId, ErrorCategories.For(e.Kind), null));
        }
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}

/// <summary>Verdicts per metric of a rollout (the step judges' and the background e-processes', told apart by Scope), or a verdict on counts given ad hoc.</summary>
[Cmdlet(VerbsCommon.Get, "CanaryAnalysis", DefaultParameterSetName = "Rollout")]
[OutputType(typeof(CanaryVerdict))]
public sealed class GetCanaryAnalysisCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Rollout")]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Counts")]
    public long CanaryRequests { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Counts")]
    public long CanaryFailures { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Counts")]
    public long ControlRequests { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Counts")]
    public long ControlFailures { get; set; }

    [Parameter(ParameterSetName = "Counts")]
    [ValidateSet("sequential", "threshold", "mannWhitney")]
    public string Judge { get; set; } = "sequential";

    protected override void ProcessInput()
    {
        if (ParameterSetName == "Counts")
        {
            WarnUnusedConnectionParameters("counts given with -CanaryRequests and the others are judged here, and no cluster is read");
            try
            {
                var report = KubesteadConnector.Offline().AnalyzeCounts(new VersionSample(CanaryRequests, CanaryFailures), new VersionSample(ControlRequests, ControlFailures), Judge);
                foreach (var v in report.Verdicts) WriteObject(Map.Verdict(v, null, null));
            }
            catch (KubesteadException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, e.ErrorId, ErrorCategories.For(e.Kind), null));
            }
            return;
        }
        var a = Run((s, ct) => s.GetAnalysisAsync(Namespace, Name, ct));
        // The step judges' verdicts, then the background e-processes' (whole rollout; their Fail is what aborts).
        foreach (var v in a.Verdicts) WriteObject(Map.Verdict(v, a.Name, a.Namespace, Map.StepScope));
        foreach (var v in a.BackgroundVerdicts) WriteObject(Map.Verdict(v, a.Name, a.Namespace, Map.BackgroundScope));
    }
}

/// <summary>The Argo CD ignoreDifferences entry and Flux settings that keep GitOps from reverting Kubestead's weights.</summary>
[Cmdlet(VerbsCommon.Get, "KubesteadGitOpsConfig")]
[OutputType(typeof(KubesteadGitOpsConfig))]
public sealed class GetKubesteadGitOpsConfigCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    protected override void ProcessInput() => WriteObject(Map.GitOps(Run((s, ct) => s.GetGitOpsConfigAsync(Namespace, Name, ct))));
}
