namespace Kubestead.Sandbox;

internal static class SandboxInfo
{
    public const string Name = "kubestead-sandbox";
}
