using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// Spec paths as the built-in file cmdlets take them: -Path expands wildcards against the current provider location,
/// -LiteralPath (also bound from FullName/PSPath of Get-ChildItem's output) does not. A path that matches nothing is a
/// non-terminating error, so the other paths of the pipeline are still processed.
/// </summary>
internal static class SpecFiles
{
    public static IEnumerable<string> Resolve(PSCmdlet cmdlet, string[] paths, string[] literalPaths, bool literal)
    {
        foreach (var p in literal ? literalPaths : paths)
        {
            List<string> resolved;
            try
            {
                if (literal)
                {
                    resolved = [cmdlet.GetUnresolvedProviderPathFromPSPath(p)];
                }
                else
                {
                    resolved = [.. cmdlet.GetResolvedProviderPathFromPSPath(p, out var provider)];
                    if (provider.Name != "FileSystem") throw new ItemNotFoundException($"'{p}' is not a file system path");
                }
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                cmdlet.WriteError(new ErrorRecord(new FileNotFoundException($"spec file '{p}' does not exist", p, e), "SpecFileNotFound", ErrorCategory.ObjectNotFound, p));
                continue;
            }
            foreach (var file in resolved)
            {
                if (File.Exists(file))
                {
                    yield return file;
                    continue;
                }
                cmdlet.WriteError(new ErrorRecord(new FileNotFoundException(
                        Directory.Exists(file) ? $"'{file}' is a folder, not a spec file" : $"spec file '{file}' does not exist", file),
                    "SpecFileNotFound", ErrorCategory.ObjectNotFound, file));
            }
        }
    }
}
