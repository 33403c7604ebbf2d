namespace Kubestead.Kubernetes;

/// <summary>A kind of Kubernetes object and where the API serves it.</summary>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced = true)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The name kubectl uses, e.g. <c>virtualservices.networking.istio.io</c>.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public override string ToString() => $"{QualifiedName}/{Version}";

    public static readonly ResourceType Namespace = new("", "v1", "namespaces", "Namespace", Namespaced: false);
    public static readonly ResourceType Pod = new("", "v1", "pods", "Pod");
    public static readonly ResourceType Service = new("", "v1", "services", "Service");
    public static readonly ResourceType ConfigMap = new("", "v1", "configmaps", "ConfigMap");
    public static readonly ResourceType Secret = new("", "v1", "secrets", "Secret");
    public static readonly ResourceType Deployment = new("apps", "v1", "deployments", "Deployment");
    public static readonly ResourceType ReplicaSet = new("apps", "v1", "replicasets", "ReplicaSet");
    public static readonly ResourceType Ingress = new("networking.k8s.io", "v1", "ingresses", "Ingress");
    public static readonly ResourceType Lease = new("coordination.k8s.io", "v1", "leases", "Lease");
    public static readonly ResourceType CustomResourceDefinition =
        new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", Namespaced: false);
    public static readonly ResourceType SelfSubjectAccessReview =
        new("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", Namespaced: false);
}

/// <summary>One object: its type, namespace (null when cluster-scoped) and name.</summary>
public sealed record ObjectReference(ResourceType Type, string? Namespace, string Name)
{
    public override string ToString() =>
        Namespace is null ? $"{Type.QualifiedName}/{Name}" : $"{Type.QualifiedName}/{Name} in namespace {Namespace}";
}
