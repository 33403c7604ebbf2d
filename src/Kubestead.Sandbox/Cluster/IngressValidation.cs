using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>
/// The part of kube-apiserver's networking.k8s.io/v1 Ingress validation a canary Ingress can trip over: every path
/// needs a pathType, a service backend needs a name and a port, and the class annotation must agree with
/// spec.ingressClassName. Answered as the real server does, 422 Invalid naming each field.
/// </summary>
internal static class IngressValidation
{
    public static void Validate(string? ns, JsonObject ingress)
    {
        var causes = new List<StatusCause>();
        var className = ingress["spec"]?["ingressClassName"]?.GetValue<string>();
        var annotation = ingress["metadata"]?["annotations"]?["kubernetes.io/ingress.class"]?.GetValue<string>();
        if (className is not null && annotation is not null && className != annotation)
            causes.Add(new StatusCause("annotations.kubernetes.io/ingress.class", "FieldValueInvalid",
                $"Invalid value: \"{annotation}\": must match `ingressClassName` when both are specified"));
        var rules = ingress["spec"]?["rules"] as JsonArray ?? new JsonArray();
        for (var r = 0; r < rules.Count; r++)
        {
            var paths = rules[r]?["http"]?["paths"] as JsonArray ?? new JsonArray();
            for (var p = 0; p < paths.Count; p++)
            {
                var at = $"spec.rules[{r}].http.paths[{p}]";
                if (paths[p]?["pathType"] is null)
                    causes.Add(new StatusCause($"{at}.pathType", "FieldValueRequired", "Required value: pathType must be specified"));
                if (paths[p]?["backend"]?["service"] is JsonObject service)
                {
                    if (service["name"] is null)
                        causes.Add(new StatusCause($"{at}.backend.service.name", "FieldValueRequired", "Required value"));
                    if (service["port"] is not JsonObject { Count: > 0 })
                        causes.Add(new StatusCause($"{at}.backend.service.port", "FieldValueRequired", "Required value: port name or number is required"));
                }
                else if (paths[p]?["backend"]?["resource"] is null)
                    causes.Add(new StatusCause($"{at}.backend", "FieldValueInvalid", "Invalid value: \"\": resource or service backend is required"));
            }
        }
        if (causes.Count == 0) return;
        var name = ingress["metadata"]?["name"]?.GetValue<string>() ?? "";
        throw new KubernetesApiException(422, StatusReason.Invalid,
            $"Ingress.networking.k8s.io \"{name}\" is invalid: {string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"))}",
            new ObjectReference(ResourceType.Ingress, ns, name), causes);
    }
}
