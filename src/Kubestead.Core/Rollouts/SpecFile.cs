namespace Kubestead.Rollouts;

/// <summary>
/// A rollout spec as the user gave it to a command that works without the rollout's state (<c>abort --file</c>): its
/// text, and the path that names it in errors and in the record.
/// </summary>
public sealed record SpecFile(string Path, string Yaml)
{
    /// <summary>Reads the file; one that does not exist is bad input naming the path (nothing has been written yet).</summary>
    public static SpecFile Read(string path) =>
        File.Exists(path)
            ? new SpecFile(path, File.ReadAllText(path))
            : throw new KubesteadException("SpecFileNotFound", KubesteadErrorKind.InvalidInput, $"spec file '{path}' does not exist", path);
}
