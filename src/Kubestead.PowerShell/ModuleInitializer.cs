using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Kubestead.PowerShell;

/// <summary>
/// Hooks the default load context so that the first request for Kubestead.Core is answered from the private
/// <see cref="DependencyLoadContext"/>; Core's own references then resolve inside that context.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    private static readonly string DependencyDirectory =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", "dependencies");

    private static readonly Lazy<DependencyLoadContext> Context = new(() => new DependencyLoadContext(DependencyDirectory));

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveKubesteadCore;

    private static Assembly? ResolveKubesteadCore(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Only our own engine assembly is redirected; everything it needs is found by the private context itself.
        if (!string.Equals(name.Name, "Kubestead.Core", StringComparison.Ordinal)) return null;
        return File.Exists(Path.Combine(DependencyDirectory, "Kubestead.Core.dll"))
            ? Context.Value.LoadFromAssemblyName(name)
            : null;
    }
}
