using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// Base of the cmdlets that read rollout specs from files (Start-, Test-KubesteadRollout): -Path and -LiteralPath as the
/// built-in file cmdlets take them. -Path expands wildcards against the current provider location, -LiteralPath (also
/// bound from FullName/PSPath of Get-ChildItem's output) does not. A path that matches nothing is a non-terminating
/// SpecFileNotFound error, so the other paths of the pipeline are still processed and a CI step still fails.
/// </summary>
public abstract class SpecPathCmdlet : KubesteadCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true)]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "LP")]
    public string[] LiteralPath { get; set; } = [];

    private string? _currentSpec;

    /// <summary>An error while a spec is processed is about that spec file (its path as resolved).</summary>
    protected override object? InputTarget => _currentSpec ?? base.InputTarget;

    /// <summary>The spec files of this pipeline input; each path that names no file is reported and skipped.</summary>
    protected IEnumerable<string> SpecFiles()
    {
        _currentSpec = null;
        var literal = ParameterSetName == "LiteralPath";
        foreach (var p in literal ? LiteralPath : Path)
        {
            List<string> resolved;
            try
            {
                if (literal)
                {
                    resolved = [GetUnresolvedProviderPathFromPSPath(p)];
                }
                else
                {
                    resolved = [.. GetResolvedProviderPathFromPSPath(p, out var provider)];
                    if (provider.Name != "FileSystem") throw new ItemNotFoundException($"'{p}' is not a file system path");
                }
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                NotFound($"spec file '{p}' does not exist", p, e);
                continue;
            }
            // A wildcard that matches nothing resolves to no path and no error: reported like a missing file, so a
            // CI step does not pass without having started anything.
            if (resolved.Count == 0)
                NotFound($"no spec file matches -Path '{p}'" + (p.IndexOfAny(['[', ']']) >= 0
                    ? "; '[' and ']' are wildcard characters in -Path: use -LiteralPath for a file name that contains them"
                    : ""), p, null);
            foreach (var file in resolved)
            {
                if (File.Exists(file))
                {
                    _currentSpec = file;
                    yield return file;
                    _currentSpec = null;
                }
                else
                    NotFound(Directory.Exists(file) ? $"'{file}' is a folder, not a spec file" : $"spec file '{file}' does not exist", file, null);
            }
        }
    }

    private void NotFound(string message, string path, Exception? inner) =>
        WriteError(new ErrorRecord(new FileNotFoundException(message, path, inner), "SpecFileNotFound", ErrorCategory.ObjectNotFound, path));
}
