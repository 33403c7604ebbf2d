namespace Kubestead.Sandbox.Tests;

/// <summary>The repository root and ../shared beside it (absent in some checkouts: tests that need it skip).</summary>
public static class SharedPaths
{
    public static string Root { get; } = FindRoot();

    public static string? Crds
    {
        get
        {
            var p = Path.GetFullPath(Path.Combine(Root, "..", "shared", "crds"));
            return Directory.Exists(p) ? p : null;
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kubestead.PowerShell.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}

/// <summary>Skips with a message when ../shared/crds is absent.</summary>
public sealed class CrdFactAttribute : FactAttribute
{
    public CrdFactAttribute()
    {
        if (SharedPaths.Crds is null) Skip = "../shared/crds is absent: the real CRD schemas are needed for this test";
    }
}

public sealed class CrdTheoryAttribute : TheoryAttribute
{
    public CrdTheoryAttribute()
    {
        if (SharedPaths.Crds is null) Skip = "../shared/crds is absent: the real CRD schemas are needed for this test";
    }
}
