using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
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

    public void OnImport()
    {
        AssemblyLoadContext.Default.Resolving += ResolveKubesteadCore;
        // Import-Module -Force re-imports without calling ModuleCleanup (PowerShell cleans up only the root module, not
        // this nested one), so connections the session kept from before are closed here. Without Core loaded no cmdlet
        // has connected yet, and the first import stays free of Core's types.
        if (Context.IsValueCreated) CloseSessionConnections();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CloseSessionConnections()
    {
        if (System.Management.Automation.Runspaces.Runspace.DefaultRunspace is { } runspace) SessionConnections.CloseFor(runspace);
    }

    private static Assembly? ResolveKubesteadCore(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Only our own engine assembly is redirected; everything it needs is found by the private context itself.
        if (!string.Equals(name.Name, "Kubestead.Core", StringComparison.Ordinal)) return null;
        return File.Exists(Path.Combine(DependencyDirectory, "Kubestead.Core.dll"))
            ? Context.Value.LoadFromAssemblyName(name)
            : null;
    }
}
