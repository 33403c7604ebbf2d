using System.Net.Http.Headers;
using k8s.Authentication;
using k8s.KubeConfigModels;

namespace Kubestead.Kubernetes;

/// <summary>
/// The library's exec credential provider (which caches until <c>expirationTimestamp</c>), made renewable: when the server
/// rejects the credential with 401 the adapter calls <see cref="Invalidate"/> and the plugin runs again once, as kubectl
/// does for GKE and EKS tokens revoked before their stated expiry. The library has no such hook. The first request uses the
/// token the library already obtained while reading the kubeconfig, so starting costs one plugin run, not two.
/// </summary>
internal sealed class RefreshableTokenProvider(ExternalExecution exec, string? initialToken) : ITokenProvider
{
    private readonly object _gate = new();
    private string? _initial = initialToken;
    private ExecTokenProvider? _provider;

    public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
    {
        ExecTokenProvider provider;
        lock (_gate)
        {
            if (_initial is { } token) return Task.FromResult(new AuthenticationHeaderValue("Bearer", token));
            provider = _provider ??= new ExecTokenProvider(exec);
        }
        return provider.GetAuthenticationHeaderAsync(cancellationToken);
    }

    /// <summary>Drops the cached credential so the next request runs the plugin again.</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _initial = null;
            _provider = null;
        }
    }
}
