using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Sandbox.Schema;

/// <summary>One violation, with the field path kube-apiserver would print (e.g. <c>spec.http[0].route[1].weight</c>).</summary>
public sealed record SchemaError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>
/// Validates objects against a Kubernetes structural schema (a CRD version's openAPIV3Schema): types, properties,
/// required, additionalProperties, items, enum, bounds, lengths, patterns, formats, nullable, allOf/anyOf/oneOf/not,
/// x-kubernetes-int-or-string and x-kubernetes-preserve-unknown-fields. CEL rules (x-kubernetes-validations) are not
/// evaluated. With <c>strict</c>, fields the schema does not know are errors (kube-apiserver would prune them silently,
/// which hides typos in what Kubestead writes).
/// </summary>
public static class SchemaValidator
{
    public static IReadOnlyList<SchemaError> Validate(JsonNode? value, JsonObject schema, bool strict = false)
    {
        var errors = new List<SchemaError>();
        Check(value, schema, "", strict, structural: true, errors);
        return errors;
    }

    private static void Check(JsonNode? value, JsonObject schema, string path, bool strict, bool structural, List<SchemaError> errors)
    {
        var field = path.Length == 0 ? "<root>" : path;
        var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
        var intOrString = schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true;
        var type = schema["type"]?.GetValue<string>();

        if (value is null)
        {
            if (type is not null && schema["nullable"]?.GetValue<bool>() != true)
                errors.Add(new SchemaError(field, $"Invalid value: \"null\": {field} in body must be of type {type}"));
            return;
        }

        if (intOrString)
        {
            if (!(IsInteger(value) || IsString(value)))
                errors.Add(new SchemaError(field, $"Invalid value: {Show(value)}: {field} in body must be of type integer or string"));
        }
        else if (type is not null && !HasType(value, type))
        {
            errors.Add(new SchemaError(field, $"Invalid value: {Show(value)}: {field} in body must be of type {type}: \"{Kind(value)}\""));
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value) || a?.ToString() == value.ToString() && Kind(a) == Kind(value)))
            errors.Add(new SchemaError(field, $"Unsupported value: {Show(value)}: supported values: {string.Join(", ", allowed.Select(Show))}"));

        if (value is JsonValue v)
        {
            if (IsNumber(v))
            {
                var d = ToDouble(v);
                var exMin = schema["exclusiveMinimum"]?.GetValue<bool>() == true;
                var exMax = schema["exclusiveMaximum"]?.GetValue<bool>() == true;
                if (schema["minimum"] is { } min && (exMin ? d <= ToDouble(min) : d < ToDouble(min)))
                    errors.Add(new SchemaError(field, $"Invalid value: {Show(v)}: {field} in body should be greater than {(exMin ? "" : "or equal to ")}{min}"));
                if (schema["maximum"] is { } max && (exMax ? d >= ToDouble(max) : d > ToDouble(max)))
                    errors.Add(new SchemaError(field, $"Invalid value: {Show(v)}: {field} in body should be less than {(exMax ? "" : "or equal to ")}{max}"));
                // No int32 range check: kube-apiserver 1.32 does not enforce integer formats on custom resources
                // (a VirtualService weight of 5000000000 is stored), and the sandbox must not refuse what it accepts.
            }
            if (IsString(v))
            {
                var s = v.GetValue<string>();
                if (schema["minLength"] is { } minL && s.Length < (long)ToDouble(minL))
                    errors.Add(new SchemaError(field, $"Invalid value: {Show(v)}: {field} in body should be at least {minL} chars long"));
                if (schema["maxLength"] is { } maxL && s.Length > (long)ToDouble(maxL))
                    errors.Add(new SchemaError(field, $"Too long: may not be more than {maxL} bytes"));
                if (schema["pattern"]?.ToString() is { } pattern && Pattern(pattern) is { } re && !re.IsMatch(s))
                    errors.Add(new SchemaError(field, $"Invalid value: {Show(v)}: {field} in body should match '{pattern}'"));
            }
        }

        if (value is JsonArray arr)
        {
            if (schema["minItems"] is { } minI && arr.Count < (long)ToDouble(minI))
                errors.Add(new SchemaError(field, $"Invalid value: {arr.Count}: {field} in body should have at least {minI} items"));
            if (schema["maxItems"] is { } maxI && arr.Count > (long)ToDouble(maxI))
                errors.Add(new SchemaError(field, $"Too many: {arr.Count}: must have at most {maxI} items"));
            if (schema["items"] is JsonObject items)
                for (var i = 0; i < arr.Count; i++) Check(arr[i], items, $"{path}[{i}]", strict, structural, errors);
        }

        if (value is JsonObject obj)
        {
            if (schema["required"] is JsonArray required)
                foreach (var r in required.Select(x => x?.ToString()).OfType<string>())
                    if (!obj.ContainsKey(r)) errors.Add(new SchemaError(Join(path, r), "Required value"));
            if (schema["minProperties"] is { } minP && obj.Count < (long)ToDouble(minP))
                errors.Add(new SchemaError(field, $"should have at least {minP} properties"));
            if (schema["maxProperties"] is { } maxP && obj.Count > (long)ToDouble(maxP))
                errors.Add(new SchemaError(field, $"should have at most {maxP} properties"));
            var properties = schema["properties"] as JsonObject;
            var additional = schema["additionalProperties"];
            foreach (var (key, child) in obj)
            {
                var childPath = Join(path, key);
                if (properties?[key] is JsonObject childSchema) Check(child, childSchema, childPath, strict, structural, errors);
                else if (additional is JsonObject addSchema) Check(child, addSchema, childPath, strict, structural, errors);
                else if (additional is JsonValue b && b.GetValue<bool>() == false)
                    errors.Add(new SchemaError(childPath, "Forbidden: unknown field"));
                else if (structural && strict && !preserve && (properties is not null || type == "object") && !IsEmbeddedMetadata(path, key))
                    errors.Add(new SchemaError(childPath, $"unknown field \"{key}\""));
            }
        }

        // Value validations (no structure): the branches only add constraints on the same value.
        if (schema["allOf"] is JsonArray allOf)
            foreach (var s in allOf.OfType<JsonObject>()) Check(value, s, path, strict, structural: false, errors);
        if (schema["anyOf"] is JsonArray anyOf && anyOf.Count > 0 && !anyOf.OfType<JsonObject>().Any(s => Validate(value, s, path)))
            errors.Add(new SchemaError(field, $"Invalid value: {Summarize(value)}: {field} in body must match at least one schema in anyOf"));
        if (schema["oneOf"] is JsonArray oneOf && oneOf.Count > 0)
        {
            var matches = oneOf.OfType<JsonObject>().Count(s => Validate(value, s, path));
            if (matches != 1)
                errors.Add(new SchemaError(field, $"Invalid value: {Summarize(value)}: {field} in body must validate one and only one schema (oneOf); it matches {matches}"));
        }
        if (schema["not"] is JsonObject not && Validate(value, not, path))
            errors.Add(new SchemaError(field, $"Invalid value: {Summarize(value)}: {field} in body must not validate the schema (not)"));
    }

    private static bool Validate(JsonNode? value, JsonObject schema, string path)
    {
        var errors = new List<SchemaError>();
        Check(value, schema, path, strict: false, structural: false, errors);
        return errors.Count == 0;
    }

    // metadata of the custom resource itself is validated by the API server's ObjectMeta rules, not the CRD schema.
    private static bool IsEmbeddedMetadata(string path, string key) =>
        path.Length == 0 && key is "apiVersion" or "kind" or "metadata" || path == "metadata" || path.StartsWith("metadata.", StringComparison.Ordinal);

    /// <summary>The pattern as a regex, or null for an RE2 construct .NET cannot read (then the check is skipped).</summary>
    private static Regex? Pattern(string pattern)
    {
        try
        {
            _ = Regex.IsMatch("", pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static bool HasType(JsonNode v, string type) => type switch
    {
        "object" => v is JsonObject,
        "array" => v is JsonArray,
        "string" => IsString(v),
        "integer" => IsInteger(v),
        "number" => v is JsonValue jv && IsNumber(jv),
        "boolean" => v is JsonValue b && b.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
        _ => true,
    };

    private static bool IsString(JsonNode v) => v is JsonValue s && s.GetValueKind() == System.Text.Json.JsonValueKind.String;

    private static bool IsNumber(JsonValue v) => v.GetValueKind() == System.Text.Json.JsonValueKind.Number;

    private static bool IsInteger(JsonNode v) => v is JsonValue n && IsNumber(n) && Math.Abs(ToDouble(n) % 1) < 1e-12;

    private static double ToDouble(JsonNode n) => double.Parse(n.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Kind(JsonNode? v) => v switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue x => x.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => "string",
            System.Text.Json.JsonValueKind.Number => IsInteger(x) ? "integer" : "number",
            System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
            _ => "null",
        },
        _ => "null",
    };

    private static string Show(JsonNode? v) => v is null ? "null" : v.ToJsonString();

    private static string Summarize(JsonNode? v) => v is JsonObject or JsonArray ? Kind(v) : Show(v);
}
