using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace Kubestead.PowerShell;

/// <summary>
/// Reads a duration the way people write one: a number is seconds (PowerShell's own conversion would read 5 as five
/// ticks), a string may be "90", "90s", "5m", "1h30m", "1d" or "00:05:00"; a TimeSpan passes as is. Sub-second and
/// negative values are refused, naming the parameter. A decimal is refused: unquoted, PowerShell reads 1d as the decimal
/// number 1 (its 'd' type suffix), which would silently be one second instead of a day.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed partial class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        var duration = value switch
        {
            null => throw new ArgumentTransformationMetadataException("a duration is required"),
            TimeSpan t => t,
            decimal d => throw new ArgumentTransformationMetadataException(
                $"{d.ToString(CultureInfo.InvariantCulture)} arrived as a decimal number: unquoted, PowerShell reads 1d as the decimal 1 (its 'd' suffix), not a day. Quote durations with units ('1d', '90m') or give seconds (86400)"),
            int or long or short or byte or sbyte or ushort or uint or ulong or double or float => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            string s => Parse(s.Trim()),
            _ => throw new ArgumentTransformationMetadataException($"'{value}' is not a duration: use seconds (300), a unit (5m, 1h30m) or hh:mm:ss"),
        };
        if (duration < TimeSpan.FromSeconds(1))
            throw new ArgumentTransformationMetadataException($"a duration of {duration.TotalSeconds:0.###} s is too short: durations are in seconds (300), units (5m) or hh:mm:ss, and at least 1 s");
        return duration;
    }

    private static TimeSpan Parse(string s)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
        // Core's Go-style units (5m, 1h30m), with a leading day count PowerShell users write for long pauses (1d, 1d12h).
        var days = Days().Match(s);
        var rest = s[days.Length..];
        if (days.Success && rest.Length == 0) return TimeSpan.FromDays(double.Parse(days.Groups[1].Value, CultureInfo.InvariantCulture));
        if (Kubestead.Specs.SpecDuration.TryParse(rest, out var units))
            return (days.Success ? TimeSpan.FromDays(double.Parse(days.Groups[1].Value, CultureInfo.InvariantCulture)) : TimeSpan.Zero) + units;
        if (!days.Success && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var t)) return t;
        throw new ArgumentTransformationMetadataException($"'{s}' is not a duration: use seconds (300), a unit (5m, 1h30m, 1d) or hh:mm:ss");
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)d")]
    private static partial Regex Days();
}
