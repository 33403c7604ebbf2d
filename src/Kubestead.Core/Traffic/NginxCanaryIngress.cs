using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>One host and path of an Ingress, as ingress-nginx keys its locations (an absent host is the catch-all server).</summary>
public sealed record IngressLocation(string Host, string Path)
{
    public override string ToString() => $"{(Host.Length == 0 ? "*" : Host)}{Path}";
}

/// <summary>
/// The canary Ingress Kubestead derives from the stable one: the stable Ingress's hosts and the paths that send to the
/// stable Service, each sent to the canary Service on the same port, the same ingress class, and the canary annotations.
/// ingress-nginx takes a canary Ingress's other annotations from the stable one, except the balancing ones
/// (load-balance, upstream-hash-by*) and session affinity (affinity, affinity-mode, session-cookie-*), which it reads
/// from the canary Ingress for the canary's upstream; those are copied, so the canary is balanced as stable is.
/// </summary>
public static class NginxCanaryIngress
{
    /// <summary>The host/paths of <paramref name="ingress"/> that send to <paramref name="service"/>.</summary>
    public static IReadOnlyList<IngressLocation> LocationsFor(JsonObject ingress, string service)
    {
        var found = new List<IngressLocation>();
        foreach (var rule in (ingress["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var host = rule["host"]?.GetValue<string>() ?? "";
            foreach (var path in (rule["http"]?["paths"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                if (path["backend"]?["service"]?["name"]?.GetValue<string>() == service)
                    found.Add(new IngressLocation(host, path["path"]?.GetValue<string>() ?? "/"));
        }
        return found;
    }

    /// <summary>Every host/path of an Ingress, whatever it sends to.</summary>
    public static IReadOnlyList<IngressLocation> AllLocations(JsonObject ingress)
    {
        var found = new List<IngressLocation>();
        foreach (var rule in (ingress["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var host = rule["host"]?.GetValue<string>() ?? "";
            foreach (var path in (rule["http"]?["paths"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                found.Add(new IngressLocation(host, path["path"]?.GetValue<string>() ?? "/"));
        }
        return found;
    }

    /// <summary>Checks that the stable Ingress can be canaried for <paramref name="service"/>; throws naming the Ingress and field.</summary>
    public static void ValidateStable(JsonObject stable, ObjectReference stableRef, string service)
    {
        if (NginxAnnotations.IsCanary(stable))
            throw new TrafficRoutingException("NginxStableIngressIsCanary",
                $"spec.nginx.ingress: {stableRef} carries {NginxAnnotations.Canary}: \"true\", so it is itself a canary Ingress; name the Ingress that serves the stable version",
                stableRef);
        if (LocationsFor(stable, service).Count > 0) return;
        var backends = (stable["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .SelectMany(r => (r["http"]?["paths"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            .Select(p => p["backend"]?["service"]?["name"]?.GetValue<string>() ?? "(no service)").Distinct().ToList();
        throw new TrafficRoutingException("NginxIngressWrongService",
            $"spec.nginx.ingress: no path of {stableRef} sends to Service '{service}' (spec.service); its spec.rules[].http.paths[].backend.service.name are: " +
            (backends.Count == 0 ? "none" : string.Join(", ", backends)),
            stableRef);
    }

    /// <summary>The canary Ingress as Kubestead creates it, at weight 0.</summary>
    public static JsonObject Build(JsonObject stable, string name, string ns, string rollout, string service, string canaryService, int weightTotal)
    {
        var metadata = Ownership.Metadata(name, ns, rollout);
        var annotations = metadata["annotations"]!.AsObject();
        annotations[NginxAnnotations.Canary] = "true";
        annotations[NginxAnnotations.Weight] = "0";
        if (weightTotal != 100) annotations[NginxAnnotations.WeightTotal] = weightTotal.ToString(CultureInfo.InvariantCulture);
        // The same controller must pick the canary up: an Ingress of another class would be a canary of nothing.
        if (stable["metadata"]?["annotations"]?[NginxAnnotations.IngressClass] is { } cls) annotations[NginxAnnotations.IngressClass] = cls.DeepClone();
        foreach (var (key, value) in stable["metadata"]?["annotations"] as JsonObject ?? new JsonObject())
            if (NginxAnnotations.IsReadFromCanary(key)) annotations[key] = value?.DeepClone();

        var rules = new JsonArray();
        foreach (var rule in (stable["spec"]?["rules"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var paths = new JsonArray();
            foreach (var path in (rule["http"]?["paths"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                if (path["backend"]?["service"]?["name"]?.GetValue<string>() != service) continue;
                var copy = new JsonObject();
                if (path["path"] is { } p) copy["path"] = p.DeepClone();
                if (path["pathType"] is { } t) copy["pathType"] = t.DeepClone();
                var backendService = new JsonObject { ["name"] = canaryService };
                // The canary Service copies the stable Service's ports and their names, so a port by name or number resolves alike.
                if (path["backend"]!["service"]!["port"] is { } port) backendService["port"] = port.DeepClone();
                copy["backend"] = new JsonObject { ["service"] = backendService };
                paths.Add((JsonNode)copy);
            }
            if (paths.Count == 0) continue;
            var canaryRule = new JsonObject();
            if (rule["host"] is { } host) canaryRule["host"] = host.DeepClone();
            canaryRule["http"] = new JsonObject { ["paths"] = paths };
            rules.Add((JsonNode)canaryRule);
        }
        var spec = new JsonObject();
        if (stable["spec"]?["ingressClassName"] is { } className) spec["ingressClassName"] = className.DeepClone();
        spec["rules"] = rules;
        return new JsonObject
        {
            ["apiVersion"] = ResourceType.Ingress.ApiVersion,
            ["kind"] = ResourceType.Ingress.Kind,
            ["metadata"] = metadata,
            ["spec"] = spec,
        };
    }
}
