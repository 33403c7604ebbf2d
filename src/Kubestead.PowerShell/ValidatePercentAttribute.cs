using System.Globalization;
using System.Management.Automation;

namespace Kubestead.PowerShell;

/// <summary>
/// A percent of traffic, 0 to 100 inclusive, as a double. ValidateRange(0, 100) compares with its Int32 bounds (so 100.4
/// passed) and NaN fails no comparison at all; this checks the double itself and names the value.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidatePercentAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = Convert.ToDouble(arguments is PSObject pso ? pso.BaseObject : arguments, CultureInfo.InvariantCulture);
        if (double.IsNaN(value) || value < 0 || value > 100)
            throw new ValidationMetadataException(
                $"{value.ToString(CultureInfo.InvariantCulture)} is not a percent of traffic: give a number from 0 to 100");
    }
}
