namespace Kubestead.Metrics.Connection;

/// <summary>
/// Microsoft Entra ID workload identity: the Kubernetes service account token (a federated credential, read from
/// <see cref="TokenFile"/> at each exchange) is traded at the authority's token endpoint for an access token for
/// <see cref="Scope"/>. Null fields are read at run time from the variables the workload identity webhook injects
/// (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST), so one spec serves every cluster.
/// </summary>
public sealed record EntraIdSpec(string Field, string? TenantId, string? ClientId, string? TokenFile, Uri? AuthorityHost, string Scope);
