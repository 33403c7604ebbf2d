using System.Text.Json;
using System.Text.Json.Serialization;
using Kubestead.Analysis;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Source-generated JSON metadata for the status saved in a rollout's ConfigMap: no reflection, so the native CLI (Native
/// AOT, docs/native.md) reads and writes exactly the JSON the JIT build does. Enums are written camelCase, one
/// <see cref="JsonStringEnumConverter{TEnum}"/> per enum the status holds (the non-generic converter needs code generated
/// at run time); <c>RolloutStatusJsonTests</c> fails when the status gains an enum that is not listed here.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RolloutStatus))]
internal sealed partial class RolloutStatusJsonContext : JsonSerializerContext
{
    public static readonly IReadOnlyList<JsonConverter> CamelCaseEnums =
    [
        new JsonStringEnumConverter<RolloutPhase>(JsonNamingPolicy.CamelCase),
        new JsonStringEnumConverter<PauseReason>(JsonNamingPolicy.CamelCase),
        new JsonStringEnumConverter<VerdictOutcome>(JsonNamingPolicy.CamelCase),
    ];
}
