using System.Globalization;

namespace Kubestead.Traffic;

/// <summary>Integer relative weights for a percentage: 10% is 90:10, 0.5% is 995:5, 0.01% is 9999:1.</summary>
internal static class RelativeWeights
{
    public static (int Stable, int Canary) For(double percent)
    {
        if (double.IsNaN(percent) || percent < 0 || percent > 100)
            throw new TrafficRoutingException("WeightOutOfRange", $"weight {percent.ToString(CultureInfo.InvariantCulture)} is out of range 0..100");
        foreach (var total in new[] { 100, 1000, 10000 })
        {
            var canary = percent * total / 100;
            if (Math.Abs(canary - Math.Round(canary)) < 1e-9) return (total - (int)Math.Round(canary), (int)Math.Round(canary));
        }
        throw new TrafficRoutingException("WeightNotAchievable",
            $"weight {percent.ToString(CultureInfo.InvariantCulture)}% needs more than 0.01% precision; round it to two decimals");
    }
}
