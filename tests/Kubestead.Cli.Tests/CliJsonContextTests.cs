using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kubestead.Rollouts;

namespace Kubestead.Cli.Tests;

/// <summary>
/// `--output json` prints result objects through source-generated metadata (the native CLI has no reflection): every
/// result type and every enum it holds must be in <see cref="CliJsonContext"/>, and the JSON must be what the
/// reflection-based options printed before.
/// </summary>
public class CliJsonContextTests
{
    [Fact]
    public void Every_enum_a_printed_result_holds_has_its_camelCase_converter()
    {
        var roots = new[] { typeof(SplitPlanResult), typeof(GitOpsConfigResult), typeof(Kubestead.Reports.RolloutHistoryRow), typeof(WeightReport), typeof(SpecTestReport), typeof(DryRunDocument) };
        var missing = roots.SelectMany(EnumsReachableFrom).Distinct().Where(e => !CliJsonContext.CamelCaseEnums.Any(c => c.CanConvert(e))).Select(e => e.Name).ToList();
        Assert.True(missing.Count == 0, $"add JsonStringEnumConverter<T> for {string.Join(", ", missing)} to CliJsonContext.CamelCaseEnums");
    }

    [Fact]
    public void A_validate_report_prints_as_the_reflection_options_printed_it()
    {
        var reflection = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        var report = new SpecTestReport("shop", "web", false, [new SpecCheck("spec", CheckOutcome.Failed, "setWeight must be 0-100", "spec.steps[0]")]);
        var printed = OutputFormat.Serialize(report);
        Assert.Equal(JsonSerializer.Serialize(report, reflection), printed);
        Assert.Contains("\"outcome\": \"failed\"", printed, StringComparison.Ordinal);
        var changes = new List<PlannedChange> { new("Deployment shop/shop-canary", "create", "the canary", null) };
        Assert.Equal(JsonSerializer.Serialize(new { dryRun = true, changes }, reflection), OutputFormat.Serialize(new DryRunDocument(true, changes)));
    }

    private static IEnumerable<Type> EnumsReachableFrom(Type root)
    {
        var seen = new HashSet<Type>();
        var todo = new Stack<Type>([root]);
        while (todo.TryPop(out var t))
        {
            if (!seen.Add(t) || t.IsEnum) continue;
            if (t.IsArray) todo.Push(t.GetElementType()!);
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) todo.Push(a);
            if (t.Namespace?.StartsWith("Kubestead", StringComparison.Ordinal) != true) continue;
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance)) todo.Push(p.PropertyType);
        }
        return seen.Where(t => t.IsEnum);
    }
}
