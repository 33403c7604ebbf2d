using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Kubestead.HelpGen;

namespace Kubestead.PowerShell.Tests;

/// <summary>
/// Reads the compiled module with MetadataLoadContext (no PowerShell needed) and checks its PowerShell surface:
/// verbs, ShouldProcess, OutputType, pipeline binding, parameter sets, public signatures, manifest and help.
/// </summary>
public sealed class ModuleSurfaceTests : IDisposable
{
    // Get-Verb, PowerShell 7.4: the approved verbs.
    private static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
    {
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move", "New", "Open", "Optimize", "Pop", "Push",
        "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split", "Step", "Switch", "Undo", "Unlock", "Watch",
        "Connect", "Disconnect", "Read", "Receive", "Send", "Write", "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo",
        "Dismount", "Edit", "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore", "Save", "Sync",
        "Unpublish", "Update", "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace", "Approve", "Assert", "Build", "Complete", "Confirm",
        "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke", "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend",
        "Uninstall", "Unregister", "Wait", "Use", "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
    };

    private static readonly HashSet<string> ChangesCluster = new(StringComparer.Ordinal)
    {
        "Start-KubesteadRollout", "Suspend-KubesteadRollout", "Resume-KubesteadRollout", "Stop-KubesteadRollout", "Complete-KubesteadRollout",
        "Set-CanaryWeight", "Set-CanaryHeaderRoute", "Remove-CanaryHeaderRoute", "Start-KubesteadSandbox", "Stop-KubesteadSandbox",
        "Approve-KubesteadRollout",
        // It drives a rollout that no other process drives, so -WhatIf must be able to stop it.
        "Wait-KubesteadRollout",
        // Not the cluster but a file: like Export-Csv, -WhatIf shows the file it would write.
        "Export-KubesteadReport",
    };

    private readonly MetadataLoadContext _mlc;
    private readonly Assembly _module;
    private readonly string _moduleDll;
    private readonly List<(string Name, Type Type, CustomAttributeData Cmdlet)> _cmdlets;

    public ModuleSurfaceTests()
    {
        var meta = typeof(ModuleSurfaceTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);
        var outDir = Path.Combine(Root, "src", "Kubestead.PowerShell", "bin", meta["Configuration"]!, "net8.0");
        var sma = Directory.GetFiles(meta["PowerShellStandardDir"]!, "System.Management.Automation.dll", SearchOption.AllDirectories).First();
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll").Concat(Directory.GetFiles(outDir, "*.dll")).Append(sma)
            .GroupBy(Path.GetFileName).Select(g => g.First());
        _mlc = new MetadataLoadContext(new PathAssemblyResolver(paths), "System.Private.CoreLib");
        _moduleDll = Path.Combine(outDir, "Kubestead.dll");
        _module = _mlc.LoadFromAssemblyPath(_moduleDll);
        _cmdlets = _module.GetTypes()
            .Select(t => (Type: t, Attr: t.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute")))
            .Where(x => x.Attr is not null)
            .Select(x => ($"{x.Attr!.ConstructorArguments[0].Value}-{x.Attr.ConstructorArguments[1].Value}", x.Type, x.Attr!)).ToList();
    }

    public void Dispose() => _mlc.Dispose();

    private static string Root => Kubestead.Tests.Shared.RepositoryRoot.Path;

    private static object? Named(CustomAttributeData a, string name) => a.NamedArguments.FirstOrDefault(n => n.MemberName == name).TypedValue.Value;

    private static IEnumerable<(PropertyInfo Property, List<CustomAttributeData> Parameters)> Parameters(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, p.CustomAttributes.Where(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute").ToList()))
            .Where(x => x.Item2.Count > 0);

    [Fact]
    public void The_module_has_the_twenty_one_cmdlets_with_approved_verbs()
    {
        Assert.Equal(21, _cmdlets.Count);
        foreach (var (name, _, attr) in _cmdlets)
        {
            Assert.Contains((string)attr.ConstructorArguments[0].Value!, ApprovedVerbs);
            Assert.Matches("^[A-Z][a-z]+-(Kubestead|Canary)", name);
        }
    }

    [Fact]
    public void Every_cluster_changing_cmdlet_supports_should_process_and_promote_abort_are_high_impact()
    {
        foreach (var (name, type, attr) in _cmdlets)
        {
            var supports = Named(attr, "SupportsShouldProcess") as bool? == true;
            Assert.True(supports == ChangesCluster.Contains(name), $"{name}: SupportsShouldProcess={supports}");
            var impact = Named(attr, "ConfirmImpact") is int i ? i : 2;
            if (name is "Stop-KubesteadRollout" or "Complete-KubesteadRollout")
            {
                Assert.Equal(3, impact); // ConfirmImpact.High
                Assert.Contains(Parameters(type), p => p.Property.Name == "Force");
            }
        }
        Assert.Contains(Parameters(_cmdlets.Single(c => c.Name == "Set-CanaryWeight").Type), p => p.Property.Name == "Force");
    }

    [Fact]
    public void Every_cmdlet_declares_an_output_type_that_exists()
    {
        foreach (var (name, type, _) in _cmdlets)
        {
            var output = type.CustomAttributes.Where(a => a.AttributeType.FullName == "System.Management.Automation.OutputTypeAttribute").ToList();
            Assert.True(output.Count > 0, $"{name} has no [OutputType]");
            foreach (var o in output)
            {
                var types = o.ConstructorArguments.SelectMany(a => a.Value is IReadOnlyCollection<CustomAttributeTypedArgument> arr ? arr.Select(x => x.Value) : [a.Value]).OfType<Type>();
                foreach (var t in types)
                    Assert.True(t.Assembly == _module || t.Namespace is "System" or "System.IO", $"{name}: output type {t.FullName} is neither in Kubestead.dll nor a System type");
            }
        }
    }

    [Fact]
    public void Parameters_bound_by_property_name_exist_on_the_rollout_that_feeds_them()
    {
        var rollout = _module.GetType("Kubestead.PowerShell.KubesteadRollout")!;
        var sandbox = _module.GetType("Kubestead.PowerShell.KubesteadSandboxInfo")!;
        foreach (var (name, type, _) in _cmdlets)
            foreach (var (property, attrs) in Parameters(type))
            {
                if (!attrs.Any(a => Named(a, "ValueFromPipelineByPropertyName") as bool? == true)) continue;
                var aliases = property.CustomAttributes.Where(a => a.AttributeType.FullName == "System.Management.Automation.AliasAttribute")
                    .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToList();
                if (property.Name == "LiteralPath")
                    Assert.True(aliases.Contains("FullName") && aliases.Contains("PSPath"), $"{name} -LiteralPath must bind Get-ChildItem's FullName/PSPath");
                else if (name.EndsWith("-KubesteadSandbox", StringComparison.Ordinal))
                    Assert.True(sandbox.GetProperty(property.Name) is not null, $"{name} -{property.Name} binds by property name, but KubesteadSandboxInfo has no such property");
                else if (property.Name != "Service")
                    Assert.True(rollout.GetProperty(property.Name) is not null, $"{name} -{property.Name} binds by property name, but KubesteadRollout has no such property");
            }
        Assert.NotNull(_module.GetType("Kubestead.PowerShell.CanaryWeight")!.GetProperty("Name"));
        Assert.NotNull(_module.GetType("Kubestead.PowerShell.CanaryWeight")!.GetProperty("Namespace"));
    }

    [Fact]
    public void Parameter_sets_are_unambiguous()
    {
        foreach (var (name, type, attr) in _cmdlets)
        {
            var sets = new Dictionary<string, List<(string Param, bool Mandatory, int Position)>>();
            foreach (var (property, attrs) in Parameters(type))
                foreach (var a in attrs)
                {
                    var set = Named(a, "ParameterSetName") as string ?? "__AllParameterSets";
                    sets.TryAdd(set, []);
                    sets[set].Add((property.Name, Named(a, "Mandatory") as bool? == true, Named(a, "Position") as int? ?? int.MinValue));
                }
            var all = sets.GetValueOrDefault("__AllParameterSets") ?? [];
            var named = sets.Where(kv => kv.Key != "__AllParameterSets").ToList();
            foreach (var (set, ps) in named.Count == 0 ? [new("__AllParameterSets", all)] : named)
            {
                var full = ps.Concat(named.Count == 0 ? [] : all).ToList();
                var positions = full.Where(p => p.Position >= 0).Select(p => p.Position).ToList();
                Assert.True(positions.Count == positions.Distinct().Count(), $"{name} set {set}: two parameters share a position");
            }
            // Two sets may share their mandatory parameters only if their positions tell them apart (Set-CanaryWeight shop 10 / | Set-CanaryWeight 10).
            var mandatorySignatures = named.Select(kv => string.Join(",", kv.Value.Where(p => p.Mandatory).Select(p => $"{p.Param}@{p.Position}").Order())).ToList();
            Assert.True(mandatorySignatures.Count == mandatorySignatures.Distinct().Count(), $"{name}: two parameter sets have the same mandatory parameters");
            if (named.Count > 1)
                Assert.True(Named(attr, "DefaultParameterSetName") is string, $"{name}: several parameter sets need a DefaultParameterSetName");
        }
    }

    [Fact]
    public void No_public_signature_mentions_a_core_type()
    {
        // Core loads in a private AssemblyLoadContext; a Core type in a public signature would leak it to PowerShell.
        foreach (var t in _module.GetTypes().Where(t => t.IsPublic))
        {
            var members = t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly);
            foreach (var m in members)
            {
                var types = m switch
                {
                    PropertyInfo p => [p.PropertyType],
                    MethodInfo mi => mi.GetParameters().Select(x => x.ParameterType).Append(mi.ReturnType),
                    ConstructorInfo c => c.GetParameters().Select(x => x.ParameterType),
                    _ => Array.Empty<Type>(),
                };
                foreach (var x in types)
                    Assert.False(x.Assembly.GetName().Name == "Kubestead.Core", $"{t.Name}.{m.Name} exposes {x.FullName} from Kubestead.Core");
            }
        }
    }

    [Fact]
    public void The_manifest_exports_exactly_the_compiled_cmdlets()
    {
        var psd1 = File.ReadAllText(Path.Combine(Root, "module", "Kubestead.psd1"));
        var block = Regex.Match(psd1, @"CmdletsToExport\s*=\s*@\((.*?)\)", RegexOptions.Singleline).Groups[1].Value;
        var exported = Regex.Matches(block, "'([^']+)'").Select(m => m.Groups[1].Value).Order().ToList();
        Assert.Equal(_cmdlets.Select(c => c.Name).Order().ToList(), exported);
        Assert.Contains("PowerShellVersion    = '7.4'", psd1);
        Assert.Contains("CompatiblePSEditions = @('Core')", psd1);
    }

    [Fact]
    public void Every_help_page_shows_the_syntax_of_the_compiled_cmdlet()
    {
        // The MAML takes its syntax from the compiled module, but readers of docs/en-US see the markdown: it must not go stale.
        var infos = CmdletMetadata.Read(_moduleDll);
        var stale = Directory.GetFiles(Path.Combine(Root, "docs", "en-US"), "*-*.md")
            .Select(f => MamlWriter.Parse(File.ReadAllText(f)))
            .Join(infos, p => p.Name, c => c.Name, (p, c) => (Page: p, Info: c))
            .Where(x => !x.Page.Syntax.SequenceEqual(x.Info.SyntaxLines))
            .Select(x => $"{x.Page.Name}: page says [{string.Join(" | ", x.Page.Syntax)}], cmdlet is [{string.Join(" | ", x.Info.SyntaxLines)}]")
            .ToList();
        Assert.True(stale.Count == 0, "run build/HelpGen --sync-syntax:\n" + string.Join("\n", stale));
        Assert.Equal(infos.Count, infos.Count(c => File.Exists(Path.Combine(Root, "docs", "en-US", c.Name + ".md"))));
    }

    [Fact]
    public void Every_cmdlet_has_a_help_page_with_every_parameter_and_two_examples_and_the_maml_lists_them()
    {
        var pages = new List<HelpPage>();
        foreach (var (name, type, _) in _cmdlets)
        {
            var file = Path.Combine(Root, "docs", "en-US", name + ".md");
            Assert.True(File.Exists(file), $"no help page {file}");
            var page = MamlWriter.Parse(File.ReadAllText(file));
            pages.Add(page);
            Assert.Equal(name, page.Name);
            Assert.False(string.IsNullOrWhiteSpace(page.Synopsis), $"{name}: empty synopsis");
            Assert.True(page.Examples.Count >= 2, $"{name}: {page.Examples.Count} examples");
            // At least one example shows a pipeline or an automated (CI, runbook, test) use.
            Assert.Contains(page.Examples, e => e.Code.Contains('|') || Regex.IsMatch(e.Title, "CI|Azure|GitHub|runbook|Pester|pipeline", RegexOptions.IgnoreCase));
            var documented = page.Parameters.Select(p => p.Name).ToHashSet();
            foreach (var (property, attrs) in Parameters(type))
                if (!attrs.Any(a => Named(a, "DontShow") is true))
                    Assert.True(documented.Contains(property.Name), $"{name}: parameter -{property.Name} is not documented");
            foreach (var p in documented.Where(p => p is not ("WhatIf" or "Confirm")))
                Assert.True(type.GetProperty(p) is not null, $"{name}: documents -{p}, which does not exist");
        }
        var maml = MamlWriter.ToMaml(pages, CmdletMetadata.Read(_moduleDll));
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        var names = maml.Descendants(command + "details").Select(d => d.Element(command + "name")!.Value).Order().ToList();
        Assert.Equal(_cmdlets.Select(c => c.Name).Order().ToList(), names);
        var reparsed = XDocument.Parse(maml.ToString());
        Assert.Equal(21, reparsed.Descendants(command + "command").Count());
        Assert.True(File.Exists(Path.Combine(Root, "docs", "en-US", "about_Kubestead.md")));
        Assert.True(File.Exists(Path.Combine(Root, "docs", "en-US", "about_Kubestead_RolloutSpec.md")));
        Assert.Contains("LONG DESCRIPTION", MamlWriter.AboutText(File.ReadAllText(Path.Combine(Root, "docs", "en-US", "about_Kubestead.md"))));
    }
}
