using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Kubestead.Analysis;
using Kubestead.Rollouts.State;

namespace Kubestead.Core.Tests.Rollouts;

/// <summary>
/// The saved status goes through source-generated metadata (Native AOT, docs/native.md) and must read and write the
/// same JSON as the reflection-based options it replaced, so a status written by one build is read by the other.
/// </summary>
public class RolloutStatusJsonTests
{
    /// <summary>The options the store used before the source-generated context (reflection, one converter for every enum).</summary>
    private static readonly JsonSerializerOptions Reflection = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    private static RolloutStatus Rich()
    {
        var at = new DateTimeOffset(2026, 12, 6, 2, 0, 0, TimeSpan.Zero);
        var verdict = new Verdict("sequential", "success-rate", VerdictOutcome.InsufficientData, 10, 1, 100, 2, null, 0.5, double.PositiveInfinity, -0.1, "few requests");
        return new RolloutStatus
        {
            Phase = RolloutPhase.Paused,
            PauseReason = PauseReason.InsufficientData,
            Message = "waiting",
            StepIndex = 2,
            StepStartedAt = at,
            CanaryWeight = 12.5,
            LastWritten = new WrittenSplit(87.5, 12.5, at, "ci@runner"),
            HeaderRoutes = ["x-canary"],
            StableTemplate = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray() } },
            JudgeStates = new Dictionary<string, JsonObject> { ["success-rate"] = new JsonObject { ["look"] = 3 } },
            LastVerdicts = [verdict],
            BackgroundVerdicts = [verdict with { Outcome = VerdictOutcome.Fail }],
            ApprovedStep = 1,
            StartedAt = at,
            UpdatedAt = at.AddMinutes(5),
            History = [new RolloutHistoryEntry(at, "ci@runner", "setWeight", "canary 12.5%", 12.5)],
            Timeline = new AnalysisTimeline().AppendWarmup(at, at.AddMinutes(1)),
        };
    }

    [Fact]
    public void The_saved_status_is_the_json_the_reflection_options_wrote_and_reads_back_from_it()
    {
        var status = Rich();
        var written = JsonSerializer.Serialize(status, RolloutStateStore.Json);
        Assert.Equal(JsonSerializer.Serialize(status, Reflection), written);
        Assert.Contains("\"phase\":\"paused\"", written, StringComparison.Ordinal);
        Assert.Contains("\"outcome\":\"insufficientData\"", written, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<RolloutStatus>(JsonSerializer.Serialize(status, Reflection), RolloutStateStore.Json)!;
        Assert.Equal(written, JsonSerializer.Serialize(back, RolloutStateStore.Json));
    }

    [Fact]
    public void Every_enum_the_status_holds_has_its_camelCase_converter()
    {
        var missing = EnumsReachableFrom(typeof(RolloutStatus)).Where(e => !RolloutStatusJsonContext.CamelCaseEnums.Any(c => c.CanConvert(e))).Select(e => e.Name).ToList();
        Assert.True(missing.Count == 0, $"add JsonStringEnumConverter<T> for {string.Join(", ", missing)} to RolloutStatusJsonContext.CamelCaseEnums");
    }

    private static IEnumerable<Type> EnumsReachableFrom(Type root)
    {
        var seen = new HashSet<Type>();
        var todo = new Stack<Type>([root]);
        while (todo.TryPop(out var t))
        {
            if (!seen.Add(t)) continue;
            if (t.IsEnum) continue;
            if (t.IsArray) todo.Push(t.GetElementType()!);
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) todo.Push(a);
            if (t.Namespace?.StartsWith("Kubestead", StringComparison.Ordinal) != true) continue;
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance)) todo.Push(p.PropertyType);
        }
        return seen.Where(t => t.IsEnum);
    }
}
