using System.Reflection;
using System.Runtime.Loader;

namespace Kubestead.PowerShell;

/// <summary>
/// Loads Kubestead.Core and its third-party dependencies (YamlDotNet, MathNet.Numerics) from the module's
/// dependencies/ folder into a private load context, so another module's YamlDotNet cannot clash with ours.
/// Pipeline types live in Kubestead.dll, which PowerShell loads in the default context.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    private readonly string _directory;

    public DependencyLoadContext(string directory) : base("Kubestead.Dependencies", isCollectible: false)
        => _directory = directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = Path.Combine(_directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
