using System.Security.Cryptography;
using System.Text;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Canary;

/// <summary>How messages name a canary: its image, its template change (with a short digest, so two patches differ) or its Deployment.</summary>
public static class CanaryChangeText
{
    public static string Name(CanarySpec? canary)
    {
        if (canary is null) return "(unreadable spec)";
        if (canary.Deployment is { } d) return $"Deployment {d}";
        var parts = new List<string>();
        if (canary.Manifest is { } m) parts.Add($"the manifest's template ({Digest(m)})");
        if (canary.TemplatePatch is { } p) parts.Add($"template patch {Digest(p)}");
        if (canary.Image is { } image) parts.Add(canary.Container is { } c ? $"image {image} in container {c}" : $"image {image}");
        return parts.Count == 0 ? "(no canary)" : string.Join(" with ", parts);
    }

    /// <summary>The dry run's description of the canary Deployment: where its template comes from and each field it changes.</summary>
    public static string Describe(CanarySpec canary, IReadOnlyList<string> changes)
    {
        var source = canary.Manifest is not null ? "the manifest's pod template" : "stable's pod template";
        var head = $"the canary Deployment from {source} ({Name(canary)}); its template differs from stable's in {changes.Count} field(s)";
        return changes.Count == 0 ? head : head + ":" + string.Concat(changes.Select(c => "\n      " + c));
    }

    private static string Digest(string json) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..8].ToLowerInvariant();
}
