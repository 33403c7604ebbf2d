using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

/// <summary>
/// Percent and fraction fields, checked so that the other convention is an error rather than a silent mix-up: Argo
/// users write success rates as fractions (0.99), Flagger users as percents (99). A success rate of 0.99 % would pass
/// a canary failing nearly every request, so values at or below 1 are rejected with the likely meaning; a fraction
/// field written as a percent (confidence 98) is rejected the same way.
/// </summary>
internal static class PercentFields
{
    /// <summary>A percentage in (1, 100]; at or below 1 it is almost certainly a fraction.</summary>
    public static double? Percent(SpecReader r, YamlMappingNode? parent, string key, string path)
    {
        var v = r.Number(parent, key, path, 0, 100);
        if (v is not { } value || value > 1) return v;
        var hint = value > 0 ? $"; did you mean {(value * 100).ToString("0.###", CultureInfo.InvariantCulture)}?" : "; 0 would pass any canary";
        r.Problem(SpecReader.Child(parent, key), $"{path}.{key}", $"{key} is a percentage{hint}");
        return null;
    }

    /// <summary>A fraction in [min, max] (both below 1); a value in (1, 100] is almost certainly a percentage.</summary>
    public static double? Fraction(SpecReader r, YamlMappingNode? parent, string key, string path, double min, double max, double defaultValue)
    {
        if (SpecReader.Child(parent, key) is YamlScalarNode { Value: { } raw } node
            && double.TryParse(raw.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 1 && v <= 100)
        {
            r.Problem(node, $"{path}.{key}", $"{key} is a fraction; did you mean {(v / 100).ToString("0.####", CultureInfo.InvariantCulture)}?");
            return null;
        }
        return r.Number(parent, key, path, min, max, defaultValue);
    }

    /// <summary>A plan warning for a weight below 1 %: legal, but more often a fraction (0.5 meaning 50 %).</summary>
    public static string? WeightWarning(int stepIndex, double weight) =>
        weight is > 0 and < 1
            ? $"step {stepIndex + 1}: setWeight {weight.ToString("0.###", CultureInfo.InvariantCulture)} is {weight.ToString("0.###", CultureInfo.InvariantCulture)}% of traffic; weights are percentages (did you mean {(weight * 100).ToString("0.#", CultureInfo.InvariantCulture)}?)"
            : null;
}
