using System.Management.Automation;
using System.Text;
using Kubestead.Reports;

namespace Kubestead.PowerShell;

/// <summary>
/// Gets a rollout's history as flat records: its events, and per analysis window and metric the weight, counts,
/// failure rates, latency, verdict and e-values, oldest first.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KubesteadRolloutHistory", DefaultParameterSetName = "All")]
[OutputType(typeof(KubesteadRolloutHistoryRecord))]
public sealed class GetKubesteadRolloutHistoryCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Only analysis windows (-WindowsOnly) or only events (-EventsOnly); both by default. Separate parameter sets, so
    /// the binder refuses both together before anything is read. Mandatory in their own set, so each set is told apart by
    /// its switch (neither given: the default set, both kinds).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Windows")]
    public SwitchParameter WindowsOnly { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Events")]
    public SwitchParameter EventsOnly { get; set; }

    protected override void ProcessInput()
    {
        foreach (var row in RolloutHistoryRow.For(Run((s, ct) => s.GetAsync(Namespace, Name, ct))))
        {
            var isWindow = row.Kind == RolloutHistoryRow.WindowKind;
            if ((WindowsOnly && !isWindow) || (EventsOnly && isWindow)) continue;
            WriteObject(Map.History(row));
        }
    }
}

/// <summary>
/// Writes a rollout's report: one self-contained HTML file (inline SVG charts of weight, failure rates, evidence and
/// latency; the verdicts and events), to open in a browser or keep as a CI artifact.
/// </summary>
[Cmdlet(VerbsData.Export, "KubesteadReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FileInfo))]
public sealed class ExportKubesteadReportCommand : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RolloutNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The HTML file to write; default &lt;Name&gt;-report.html in the current location.</summary>
    [Parameter(Position = 1)]
    public string? Path { get; set; }

    /// <summary>Do not overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    /// <summary>Write the file's FileInfo to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    // Reports written by this pipeline: a second input aimed at the same file would overwrite the first silently.
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);

    protected override void ProcessInput()
    {
        string path;
        ProviderInfo provider;
        try
        {
            path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(string.IsNullOrEmpty(Path) ? $"{Name}-report.html" : Path, out provider, out _);
        }
        catch (Exception e) when (e is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or PSArgumentException or NotSupportedException)
        {
            WriteError(new ErrorRecord(new ArgumentException($"-Path '{Path}': {e.Message}", nameof(Path), e), "ReportPathInvalid", ErrorCategory.InvalidArgument, Path)
                { ErrorDetails = new ErrorDetails(string.Empty) { RecommendedAction = "Give -Path a file or folder on a file system drive." } });
            return;
        }
        if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
        {
            WriteError(new ErrorRecord(new ArgumentException($"-Path '{Path}' is on the {provider.Name} provider: a report is a file, give a file system path"),
                "ReportPathNotFileSystem", ErrorCategory.InvalidArgument, Path));
            return;
        }
        // An existing folder gets <Name>-report.html inside, so several rollouts can be exported to one folder.
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, $"{Name}-report.html");
        if (!_written.Add(path))
        {
            WriteError(new ErrorRecord(new IOException($"-Path '{path}' already holds the report of an earlier input of this pipeline; give a folder as -Path to write one <Name>-report.html per rollout"),
                "ReportPathReused", ErrorCategory.ResourceExists, Name));
            return;
        }
        if (!Confirmation.ShouldProcess(this, $"Export the report of {Name} to {path}", Name, path, $"Write the report of rollout {Namespace ?? "(default namespace)"}/{Name}")) return;
        if (NoClobber && File.Exists(path))
        {
            WriteError(new ErrorRecord(new IOException($"-Path '{path}' exists and -NoClobber was given; choose another path or drop -NoClobber"),
                "ReportFileExists", ErrorCategory.ResourceExists, path));
            return;
        }
        var result = Run((s, ct) => s.GetAsync(Namespace, Name, ct));
        try
        {
            // A CI artifact folder that does not exist yet is created, as the help's example writes into one.
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.WriteAllText(path, RolloutReportWriter.Render(result, DateTimeOffset.UtcNow), new UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(new IOException($"-Path '{path}': the report could not be written ({e.Message})", e),
                "ReportWriteFailed", ErrorCategory.WriteError, path));
            return;
        }
        WriteVerbose($"report of {result.Namespace}/{result.Name} written to {path}");
        if (PassThru) WriteObject(new FileInfo(path));
    }
}
