using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Kubestead.Reports;
using Kubestead.Rollouts;

namespace Kubestead.Cli;

/// <summary>
/// Source-generated JSON metadata for the result objects `--output json` prints as they are (plan, gitops, history,
/// weight, validate, --dry-run): no reflection, so the native CLI (Native AOT, docs/native.md) prints what the dotnet
/// tool prints. Enums are camelCase, one <see cref="JsonStringEnumConverter{TEnum}"/> per enum those results hold;
/// <c>CliJsonContextTests</c> fails when a result gains an enum that is not listed here.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SplitPlanResult))]
[JsonSerializable(typeof(GitOpsConfigResult))]
[JsonSerializable(typeof(IReadOnlyList<RolloutHistoryRow>))]
[JsonSerializable(typeof(WeightReport))]
[JsonSerializable(typeof(SpecTestReport))]
[JsonSerializable(typeof(DryRunDocument))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonArray))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    public static readonly IReadOnlyList<JsonConverter> CamelCaseEnums =
    [
        new JsonStringEnumConverter<CheckOutcome>(JsonNamingPolicy.CamelCase),
    ];
}

/// <summary>What `--dry-run -o json` prints: the writes the command would make.</summary>
internal sealed record DryRunDocument(bool DryRun, IReadOnlyList<PlannedChange> Changes);
