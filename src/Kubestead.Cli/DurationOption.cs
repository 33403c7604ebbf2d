using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Kubestead.Specs;

namespace Kubestead.Cli;

/// <summary>
/// Duration options as kubectl and the spec write them (<c>5s</c>, <c>2m</c>, <c>1h30m</c>), a bare number of seconds
/// (kubectl's <c>--request-timeout 30</c>), or <c>hh:mm:ss</c>, which earlier versions documented. A value that is none of
/// these is refused naming the option and the forms, never with a .NET type name.
/// </summary>
internal static class DurationOption
{
    public static Option<TimeSpan?> Optional(string name, string description, bool recursive = false) =>
        new(name) { Description = description, CustomParser = r => Parse(r), Recursive = recursive };

    public static Option<TimeSpan> WithDefault(string name, string description, TimeSpan defaultValue, bool recursive = false) =>
        new(name) { Description = description, CustomParser = r => Parse(r) ?? defaultValue, DefaultValueFactory = _ => defaultValue, Recursive = recursive };

    private static TimeSpan? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value.Trim() : "";
        if (SpecDuration.TryParse(text, out var value)) return value;
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
        if (text.Contains(':') && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero) return value;
        var option = (result.Parent as OptionResult)?.Option.Name ?? "the option";
        result.AddError($"{option}: '{text}' is not a duration; use e.g. 30s, 5m, 1h30m, a number of seconds, or hh:mm:ss");
        return null;
    }
}
