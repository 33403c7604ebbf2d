namespace Kubestead.Core.Tests;

/// <summary>Finds the repository root (the folder with Kubestead.PowerShell.sln) and ../shared beside it.</summary>
public static class RepoPaths
{
    public static string Root => Kubestead.Tests.Shared.RepositoryRoot.Path;

    public static string Examples => Path.Combine(Root, "examples");

    /// <summary>The shared folder beside the repository, or null when it is absent (tests that need it skip).</summary>
    public static string? SharedCrds => Kubestead.Tests.Shared.RepositoryRoot.SharedCrds;
}
