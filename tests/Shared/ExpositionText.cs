using System.Globalization;

namespace Kubestead.Tests.Shared;

/// <summary>Reads samples out of a Prometheus text exposition (a controller's /metrics), for the controller's tests and bench.</summary>
internal static class ExpositionText
{
    /// <summary>The sum of every sample of <paramref name="name"/> whose labels contain <paramref name="labels"/> (null: all).</summary>
    public static double Sum(string text, string name, string? labels) =>
        text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(l => labels is null || l.Contains(labels, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
