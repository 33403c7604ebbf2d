using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

/// <summary>
/// Reads typed values out of a YAML tree while collecting every problem with its line, column and field path,
/// so a user sees all mistakes at once. Unknown keys are problems with a "did you mean" hint.
/// </summary>
internal sealed partial class SpecReader(string file)
{
    private readonly Dictionary<YamlNode, YamlNode> _keyOf = new(ReferenceEqualityComparer.Instance);

    public List<SpecProblem> Problems { get; } = new();

    /// <summary>Remembers each value's key so problems about a mapping or list point at the line that names it.</summary>
    public void Index(YamlNode node)
    {
        if (node is YamlMappingNode m)
            foreach (var (k, v) in m.Children)
            {
                _keyOf[v] = k;
                Index(v);
            }
        else if (node is YamlSequenceNode s)
            foreach (var c in s.Children) Index(c);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    public void Problem(YamlNode? node, string field, string message)
    {
        var at = node is YamlMappingNode or YamlSequenceNode && _keyOf.TryGetValue(node, out var key) ? key : node;
        Problems.Add(new SpecProblem(file, at is null ? 0 : (int)at.Start.Line, at is null ? 0 : (int)at.Start.Column, field, message));
    }

    public static YamlNode? Child(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public void CheckKeys(YamlMappingNode map, string path, params string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (allowed.Contains(name)) continue;
            var hint = DidYouMean(name, allowed);
            Problem(key, Join(path, name), hint is null
                ? $"unknown field '{name}' (allowed: {string.Join(", ", allowed)})"
                : $"unknown field '{name}'; did you mean '{hint}'?");
        }
    }

    public YamlMappingNode? Map(YamlMappingNode? parent, string key, string path, bool required)
    {
        var node = Child(parent, key);
        var field = Join(path, key);
        if (node is null || IsNull(node))
        {
            if (required) Problem(parent, field, "required field is missing");
            return null;
        }
        if (node is YamlMappingNode m) return m;
        Problem(node, field, $"must be a mapping (key: value lines), not {Describe(node)}");
        return null;
    }

    public YamlSequenceNode? Seq(YamlMappingNode? parent, string key, string path, bool required)
    {
        var node = Child(parent, key);
        var field = Join(path, key);
        if (node is null || IsNull(node))
        {
            if (required) Problem(parent, field, "required field is missing");
            return null;
        }
        if (node is YamlSequenceNode s) return s;
        Problem(node, field, $"must be a list, not {Describe(node)}");
        return null;
    }

    public string? Str(YamlMappingNode? parent, string key, string path, bool required = false)
    {
        var node = Child(parent, key);
        var field = Join(path, key);
        if (node is null || IsNull(node))
        {
            if (required) Problem(parent, field, "required field is missing");
            return null;
        }
        if (node is YamlScalarNode { Value: { } v } && v.Length > 0) return v;
        Problem(node, field, node is YamlScalarNode ? "must not be empty" : $"must be a string, not {Describe(node)}");
        return null;
    }

    /// <summary>A Kubernetes object name (DNS-1123 label or subdomain).</summary>
    public string? Name(YamlMappingNode? parent, string key, string path, bool required = false, int maxLength = 253)
    {
        var v = Str(parent, key, path, required);
        if (v is null) return null;
        var ok = v.Length <= maxLength && v.Split('.').All(p => p.Length is > 0 and <= 63 && Dns1123Label().IsMatch(p));
        if (ok) return v;
        Problem(Child(parent, key), Join(path, key),
            $"'{v}' is not a valid Kubernetes name (lower-case letters, digits and '-', starting and ending with a letter or digit, at most {maxLength} characters)");
        return null;
    }

    public string? Enum(YamlMappingNode? parent, string key, string path, string[] allowed, string? defaultValue, bool required = false)
    {
        var v = Str(parent, key, path, required);
        if (v is null) return Child(parent, key) is null ? defaultValue : null;
        if (allowed.Contains(v)) return v;
        var hint = DidYouMean(v, allowed);
        Problem(Child(parent, key), Join(path, key),
            $"'{v}' is not one of {string.Join(", ", allowed)}" + (hint is null ? "" : $"; did you mean '{hint}'?"));
        return null;
    }

    public double? Number(YamlMappingNode? parent, string key, string path, double min, double max, double? defaultValue = null, bool required = false)
    {
        var node = Child(parent, key);
        var field = Join(path, key);
        if (node is null || IsNull(node))
        {
            if (required) Problem(parent, field, "required field is missing");
            return defaultValue;
        }
        if (node is not YamlScalarNode { Value: { } raw } || !double.TryParse(raw.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            || double.IsNaN(v) || double.IsInfinity(v))
        {
            Problem(node, field, $"must be a number, not {Describe(node)}");
            return null;
        }
        if (v < min || v > max)
        {
            Problem(node, field, $"{raw} is out of range {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }
        return v;
    }

    public int? Int(YamlMappingNode? parent, string key, string path, int min, int max, int? defaultValue = null)
    {
        var node = Child(parent, key);
        if (node is null || IsNull(node)) return defaultValue;
        if (node is not YamlScalarNode { Value: { } raw } || !int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            Problem(node, Join(path, key), $"must be a whole number, not {Describe(node)}");
            return null;
        }
        if (v < min || v > max)
        {
            Problem(node, Join(path, key), $"{v} is out of range {min}..{max}");
            return null;
        }
        return v;
    }

    public bool? Bool(YamlMappingNode? parent, string key, string path, bool? defaultValue = null)
    {
        var node = Child(parent, key);
        if (node is null || IsNull(node)) return defaultValue;
        if (node is YamlScalarNode { Value: "true" or "True" or "false" or "False" } s) return s.Value!.Equals("true", StringComparison.OrdinalIgnoreCase);
        Problem(node, Join(path, key), $"must be true or false, not {Describe(node)}");
        return null;
    }

    public TimeSpan? Duration(YamlMappingNode? parent, string key, string path, TimeSpan? defaultValue = null, bool required = false, TimeSpan? min = null)
    {
        var node = Child(parent, key);
        var field = Join(path, key);
        if (node is null || IsNull(node))
        {
            if (required) Problem(parent, field, "required field is missing");
            return defaultValue;
        }
        if (node is YamlScalarNode { Value: { } raw } && SpecDuration.TryParse(raw, out var d))
        {
            if (min is { } m && d < m)
            {
                Problem(node, field, $"{raw} is shorter than the minimum {SpecDuration.Format(m)}");
                return null;
            }
            return d;
        }
        Problem(node, field, $"'{(node as YamlScalarNode)?.Value}' is not a duration such as 30s, 5m or 1h30m");
        return null;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" };

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "that value",
    };

    public static string? DidYouMean(string given, IEnumerable<string> allowed)
    {
        var best = allowed.Select(a => (a, d: Distance(given.ToLowerInvariant(), a.ToLowerInvariant())))
            .OrderBy(x => x.d).FirstOrDefault();
        return best.a is not null && best.d <= Math.Max(2, given.Length / 3) ? best.a : null;
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
