using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>
/// Reads and writes a rollout's spec and status in the ConfigMap <c>kubestead-&lt;rollout&gt;</c>. Every save is a
/// PUT with the resourceVersion read, so two writers cannot silently overwrite each other.
/// </summary>
public sealed class RolloutStateStore(IKubernetesApi api)
{
    public const string SpecKey = "spec.yaml";
    public const string StatusKey = "status.json";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string RolloutLabel = "kubestead.io/rollout";
    public const string ComponentLabel = "app.kubernetes.io/component";

    internal static readonly JsonSerializerOptions Json = WithEnums(new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = RolloutStatusJsonContext.Default,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A judge that keeps observing after its verdict (a timed analysis) can push an e-value past double's range:
        // Infinity must not make the status unsavable.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    });

    private static JsonSerializerOptions WithEnums(JsonSerializerOptions options)
    {
        foreach (var converter in RolloutStatusJsonContext.CamelCaseEnums) options.Converters.Add(converter);
        return options;
    }

    /// <summary>The status's metadata from <see cref="Json"/>: serializing through it needs no reflection (Native AOT).</summary>
    private static JsonTypeInfo<RolloutStatus> StatusJson => (JsonTypeInfo<RolloutStatus>)Json.GetTypeInfo(typeof(RolloutStatus));

    public static string ObjectName(string rollout) => $"kubestead-{rollout}";

    public async Task<StoredRollout?> TryLoadAsync(string ns, string rollout, CancellationToken ct = default)
    {
        try
        {
            return FromConfigMap(await api.GetAsync(ResourceType.ConfigMap, ns, ObjectName(rollout), ct).ConfigureAwait(false));
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task<StoredRollout> LoadAsync(string ns, string rollout, CancellationToken ct = default) =>
        await TryLoadAsync(ns, rollout, ct).ConfigureAwait(false)
        ?? throw new RolloutNotFoundException(ns, rollout);

    public async Task<IReadOnlyList<StoredRollout>> ListAsync(string? ns, CancellationToken ct = default)
    {
        var result = new List<StoredRollout>();
        string? token = null;
        do
        {
            var page = await api.ListAsync(ResourceType.ConfigMap, ns,
                new ListOptions($"{ManagedByLabel}=kubestead,{ComponentLabel}=rollout-state", Limit: 250, Continue: token), ct).ConfigureAwait(false);
            result.AddRange(page.Items.Select(FromConfigMap));
            token = page.Continue;
        } while (!string.IsNullOrEmpty(token));
        return result.OrderBy(r => r.Namespace, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Creates the state object; fails with AlreadyExists when a rollout of that name is already recorded.
    /// <paramref name="adoptable"/> (the spec's <c>controller.adopt</c>) labels it for controllers to take over once its
    /// driver's Lease expires.
    /// </summary>
    public async Task<StoredRollout> CreateAsync(string ns, string rollout, string specYaml, RolloutStatus status, CancellationToken ct = default, bool adoptable = false)
    {
        var labels = new JsonObject
        {
            [ManagedByLabel] = "kubestead",
            [ComponentLabel] = "rollout-state",
            [RolloutLabel] = rollout,
        };
        if (adoptable) labels[Kubestead.Controller.ControllerHandoff.DriverLabel] = Kubestead.Controller.ControllerHandoff.AdoptableValue;
        var cm = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject
            {
                ["name"] = ObjectName(rollout),
                ["namespace"] = ns,
                ["labels"] = labels,
            },
            ["data"] = new JsonObject
            {
                // Anyone who may read ConfigMaps reads this copy: URL passwords are masked (StoredSpecCredentials).
                [SpecKey] = StoredSpecCredentials.Redact(specYaml),
                [StatusKey] = JsonSerializer.Serialize(status, StatusJson),
            },
        };
        return FromConfigMap(await api.CreateAsync(ResourceType.ConfigMap, ns, cm, ct).ConfigureAwait(false));
    }

    /// <summary>Writes a new status over <paramref name="current"/>; a Conflict means someone else wrote in between.</summary>
    public async Task<StoredRollout> SaveAsync(StoredRollout current, RolloutStatus status, CancellationToken ct = default)
    {
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/metadata/resourceVersion", current.ResourceVersion),
            JsonPatchOperation.Replace("/data/" + JsonPatchApplier.Escape(StatusKey), JsonSerializer.Serialize(status, StatusJson)),
        ]);
        var updated = await api.PatchAsync(ResourceType.ConfigMap, current.Namespace, ObjectName(current.Name), patch, ct).ConfigureAwait(false);
        return FromConfigMap(updated);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the freshest status and writes it (null: nothing to write). A conflict means
    /// a driver wrote in between: the change is re-read and applied again, a few times, so a command from another
    /// process (pause, promote, a hand-set weight) lands on top of whatever the driver just recorded.
    /// </summary>
    public async Task<StoredRollout> UpdateAsync(string ns, string rollout, Func<RolloutStatus, RolloutStatus?> change, TimeProvider clock, CancellationToken ct = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stored = await LoadAsync(ns, rollout, ct).ConfigureAwait(false);
            var next = change(stored.Status);
            if (next is null) return stored;
            try
            {
                return await SaveAsync(stored, next with { UpdatedAt = clock.GetUtcNow() }, ct).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when ((e.IsConflict || e.IsInvalid) && attempt < 5)
            {
                // The driver wrote in between: re-read and apply the change again.
            }
        }
    }

    public async Task DeleteAsync(StoredRollout current, CancellationToken ct = default)
    {
        try
        {
            await api.DeleteAsync(ResourceType.ConfigMap, current.Namespace, ObjectName(current.Name),
                new DeleteOptions(PreconditionResourceVersion: current.ResourceVersion), ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }

    internal static StoredRollout FromConfigMap(JsonObject cm)
    {
        var metadata = cm["metadata"] as JsonObject ?? new JsonObject();
        var ns = metadata["namespace"]?.GetValue<string>() ?? "";
        var name = metadata["labels"]?[RolloutLabel]?.GetValue<string>()
                   ?? (metadata["name"]?.GetValue<string>() ?? "").Replace("kubestead-", "", StringComparison.Ordinal);
        var data = cm["data"] as JsonObject;
        var spec = data?[SpecKey]?.GetValue<string>() ?? "";
        var statusJson = data?[StatusKey]?.GetValue<string>();
        RolloutStatus status;
        try
        {
            status = statusJson is null ? new RolloutStatus() : JsonSerializer.Deserialize(statusJson, StatusJson) ?? new RolloutStatus();
        }
        catch (JsonException e)
        {
            throw new RolloutStateCorruptException(ns, name, $"data.{StatusKey} is not valid rollout status JSON ({e.Message})");
        }
        return new StoredRollout(ns, name, spec, status, metadata["resourceVersion"]?.GetValue<string>() ?? "");
    }
}
