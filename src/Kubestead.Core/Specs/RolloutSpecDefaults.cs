using System.Globalization;

namespace Kubestead.Specs;

/// <summary>The spec for the common case "roll out this image of this service" with sensible steps.</summary>
public static class RolloutSpecDefaults
{
    public static string ForImage(string name, string ns, string service, string meshProvider, string image)
    {
        var mesh = meshProvider switch
        {
            MeshProviders.Istio => $"  istio:\n    virtualService:\n      name: {service}\n    destinationRule:\n      name: {service}\n",
            MeshProviders.Linkerd => $"  linkerd:\n    canaryService: {service}-canary\n",
            MeshProviders.Smi => $"  smi:\n    canaryService: {service}-canary\n",
            // The stable Ingress is assumed to be named like the Service; validate --cluster names spec.nginx.ingress if not.
            MeshProviders.Nginx => $"  nginx:\n    ingress: {service}\n    canaryService: {service}-canary\n",
            // Guesses for the io.l5d.k8s namer (port name http) and a namerd Service in namespace linkerd: check them.
            MeshProviders.Linkerd1 => $"  linkerd1:\n    namerd: http://namerd.linkerd:4180\n    namespace: default\n    prefix: /svc/{service}\n" +
                                      $"    stable: /#/io.l5d.k8s/{ns}/http/{service}\n    canary: /#/io.l5d.k8s/{ns}/http/{service}-canary\n    canaryService: {service}-canary\n",
            _ => "",
        };
        var weights = meshProvider == MeshProviders.None ? new[] { 10, 25, 50 } : new[] { 5, 10, 25, 50 };
        var steps = string.Concat(weights.Select(w => string.Create(CultureInfo.InvariantCulture, $"    - setWeight: {w}\n    - pause:\n        duration: 5m\n")));
        return $"""
            apiVersion: kubestead.io/v1alpha1
            kind: Rollout
            metadata:
              name: {name}
              namespace: {ns}
            spec:
              service: {service}
              meshProvider: {meshProvider}

            """ + mesh + $"""
              stable:
                deployment: {name}
              canary:
                image: {image}
              steps:

            """ + steps;
    }
}
