using System.Reflection;
using System.Runtime.InteropServices;

namespace Kubestead.HelpGen;

/// <summary>One parameter of a compiled cmdlet, as PowerShell's binder sees it.</summary>
/// <summary><paramref name="SupportsWildcards"/>: marked [SupportsWildcards], which Get-Help shows as "Accept wildcard characters: true".</summary>
public sealed record CmdletParameter(string Name, string TypeName, bool IsSwitch, IReadOnlyList<string> Aliases, IReadOnlyList<ParameterSetEntry> Sets, bool SupportsWildcards = false);

/// <summary>How a parameter takes part in one parameter set ("__AllParameterSets" when it is in all of them).</summary>
public sealed record ParameterSetEntry(string SetName, bool Mandatory, int? Position, bool FromPipeline, bool FromPipelineByPropertyName);

/// <summary>A compiled cmdlet's name, parameter sets and output types, read with MetadataLoadContext.</summary>
public sealed record CmdletInfo(string Name, IReadOnlyList<string> SetNames, string? DefaultSet, IReadOnlyList<CmdletParameter> Parameters, IReadOnlyList<string> OutputTypes)
{
    /// <summary>The parameters of one set in the order Get-Command -Syntax shows them: positional first, then mandatory, then the rest.</summary>
    public IEnumerable<(CmdletParameter Parameter, ParameterSetEntry Entry)> InSet(string set) =>
        Parameters.Select(p => (p, e: p.Sets.FirstOrDefault(s => s.SetName == set) ?? p.Sets.FirstOrDefault(s => s.SetName == CmdletMetadata.AllSets)))
            .Where(x => x.e is not null)
            .Select(x => (x.p, x.e!))
            .OrderBy(x => x.Item2.Position ?? int.MaxValue).ThenBy(x => x.Item2.Mandatory ? 0 : 1);

    /// <summary>The parameter sets in the order help shows them: the default set first.</summary>
    public IEnumerable<string> OrderedSets => SetNames.OrderBy(s => s == DefaultSet ? 0 : 1);

    /// <summary>Every set's syntax line, in help order: what a page's SYNTAX section must say.</summary>
    public IReadOnlyList<string> SyntaxLines => OrderedSets.Select(SyntaxLine).ToList();

    /// <summary>The syntax line of one set, in Get-Command -Syntax's notation.</summary>
    public string SyntaxLine(string set) => Name + " " + string.Join(" ", InSet(set).Select(x =>
    {
        var name = x.Entry.Position is null ? $"-{x.Parameter.Name}" : $"[-{x.Parameter.Name}]";
        var text = x.Parameter.IsSwitch ? $"-{x.Parameter.Name}" : $"{name} <{x.Parameter.TypeName}>";
        return x.Entry.Mandatory ? text : $"[{text}]";
    })) + " [<CommonParameters>]";
}

/// <summary>Reads the cmdlets of a compiled module (Kubestead.dll) without loading PowerShell.</summary>
public static class CmdletMetadata
{
    public const string AllSets = "__AllParameterSets";
    private const string Sma = "System.Management.Automation.";

    public static IReadOnlyList<CmdletInfo> Read(string moduleDll)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(moduleDll))!;
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll").Concat(Directory.GetFiles(dir, "*.dll"))
            .GroupBy(Path.GetFileName).Select(g => g.Last());
        using var mlc = new MetadataLoadContext(new PathAssemblyResolver(paths), "System.Private.CoreLib");
        var module = mlc.LoadFromAssemblyPath(Path.GetFullPath(moduleDll));
        var result = new List<CmdletInfo>();
        foreach (var type in module.GetTypes())
        {
            var cmdlet = type.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == Sma + "CmdletAttribute");
            if (cmdlet is null) continue;
            var name = $"{cmdlet.ConstructorArguments[0].Value}-{cmdlet.ConstructorArguments[1].Value}";
            var parameters = new List<CmdletParameter>();
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
            {
                var attrs = p.CustomAttributes.Where(a => a.AttributeType.FullName == Sma + "ParameterAttribute").ToList();
                // Hidden parameters (DontShow) stay out of help, as PowerShell keeps them out of tab completion.
                if (attrs.Count == 0 || attrs.Any(a => (bool?)Named(a, "DontShow") == true)) continue;
                var sets = attrs.Select(a => new ParameterSetEntry(
                    (string?)Named(a, "ParameterSetName") ?? AllSets, (bool?)Named(a, "Mandatory") ?? false,
                    Named(a, "Position") is int pos && pos >= 0 ? pos : null,
                    (bool?)Named(a, "ValueFromPipeline") ?? false, (bool?)Named(a, "ValueFromPipelineByPropertyName") ?? false)).ToList();
                var aliases = p.CustomAttributes.Where(a => a.AttributeType.FullName == Sma + "AliasAttribute")
                    .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToList();
                var isSwitch = p.PropertyType.FullName == Sma + "SwitchParameter";
                var wildcards = p.CustomAttributes.Any(a => a.AttributeType.FullName == Sma + "SupportsWildcardsAttribute");
                parameters.Add(new CmdletParameter(p.Name, TypeName(p.PropertyType), isSwitch, aliases, sets, wildcards));
            }
            // PSCmdlet adds -WhatIf and -Confirm to every set when the cmdlet supports ShouldProcess.
            if ((bool?)Named(cmdlet, "SupportsShouldProcess") == true)
                foreach (var n in new[] { "WhatIf", "Confirm" })
                    parameters.Add(new CmdletParameter(n, "SwitchParameter", true, n == "WhatIf" ? ["wi"] : ["cf"], [new ParameterSetEntry(AllSets, false, null, false, false)]));
            var setNames = parameters.SelectMany(p => p.Sets).Select(s => s.SetName).Where(s => s != AllSets).Distinct().ToList();
            var defaultSet = (string?)Named(cmdlet, "DefaultParameterSetName");
            // A default set that no parameter names of its own is still a set (Stop-KubesteadSandbox with no arguments).
            if (defaultSet is not null && setNames.Count > 0 && !setNames.Contains(defaultSet)) setNames.Insert(0, defaultSet);
            if (setNames.Count == 0) setNames.Add(AllSets);
            var outputs = type.CustomAttributes.Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
                .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => ((Type)v.Value!).FullName!)).ToList();
            result.Add(new CmdletInfo(name, setNames, defaultSet, parameters, outputs));
        }
        return result;
    }

    private static object? Named(CustomAttributeData a, string name) =>
        a.NamedArguments.FirstOrDefault(n => n.MemberName == name) is { MemberInfo: not null } arg ? arg.TypedValue.Value : null;

    /// <summary>Type names as Get-Command -Syntax writes them (String, Double, String[], Nullable`1 as its argument).</summary>
    private static string TypeName(Type t)
    {
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "System.Nullable`1") return TypeName(t.GetGenericArguments()[0]);
        return t.FullName switch
        {
            "System.String" => "string", "System.Double" => "double", "System.Int32" => "int", "System.Int64" => "long",
            "System.TimeSpan" => "timespan", "System.Boolean" => "bool",
            _ => t.Name,
        };
    }
}
