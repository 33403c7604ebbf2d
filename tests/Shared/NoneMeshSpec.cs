namespace Kubestead.Tests.Shared;

/// <summary>
/// The shop rollout on mesh <c>none</c> (replica counts), with the steps and any trailing spec block a test needs: the
/// one spec the approval and webhook gate tests share, so a change to the spec format is made once.
/// </summary>
internal static class NoneMeshSpec
{
    /// <param name="steps">Each step's YAML after "- ", e.g. <c>setWeight: 20</c>.</param>
    /// <param name="tail">Further lines under <c>spec:</c>, indented by two spaces (e.g. a <c>webhooks:</c> block).</param>
    public static string With(IEnumerable<string> steps, string tail = "") =>
        "apiVersion: kubestead.io/v1alpha1\n" +
        "kind: Rollout\n" +
        "metadata: { name: shop, namespace: shop }\n" +
        "spec:\n" +
        "  service: shop\n" +
        "  meshProvider: none\n" +
        "  stable: { deployment: shop }\n" +
        "  canary: { image: registry.example.com/shop:2.0.0 }\n" +
        "  steps:\n" +
        string.Concat(steps.Select(s => $"    - {s}\n")) +
        tail;
}
