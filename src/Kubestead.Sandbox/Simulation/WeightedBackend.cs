namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// One backend a route object sends to: a Service, its relative weight and, for an Istio subset, the labels that narrow
/// the Service's endpoints.
/// </summary>
public sealed record WeightedBackend(string Service, double Weight, IReadOnlyDictionary<string, string>? SubsetLabels = null);
