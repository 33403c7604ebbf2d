namespace Kubestead.Sandbox.Tests;

/// <summary>The repository root and ../shared beside it (absent in some checkouts: tests that need it skip).</summary>
public static class SharedPaths
{
    public static string Root => Kubestead.Tests.Shared.RepositoryRoot.Path;

    public static string? Crds => Kubestead.Tests.Shared.RepositoryRoot.SharedCrds;
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
