namespace Kubestead.PowerShell;

internal static class ModuleInfo
{
    public const string Name = "Kubestead";
}
