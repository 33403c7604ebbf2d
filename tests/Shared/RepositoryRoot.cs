namespace Kubestead.Tests.Shared;

/// <summary>The repository root (the folder holding Kubestead.PowerShell.sln), found from the test's output folder; linked into every test project.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>../shared/crds beside the repository, or null when absent (tests needing it skip).</summary>
    public static string? SharedCrds
    {
        get
        {
            var p = System.IO.Path.GetFullPath(System.IO.Path.Combine(Path, "..", "shared", "crds"));
            return Directory.Exists(p) ? p : null;
        }
    }

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Kubestead.PowerShell.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Kubestead.PowerShell.sln) not found above " + AppContext.BaseDirectory);
    }
}
