using Kubestead.Metrics;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>The TLS clients (each a connection pool with its certificates) belong to the provider set, which closes them.</summary>
public class TlsHttpClientsTests
{
    [Fact]
    public async Task Disposing_the_provider_set_disposes_every_tls_client_it_owns()
    {
        var tls = new TlsHttpClients();
        var client = tls.For(new TlsSpec("tls", null, null, null, null, InsecureSkipVerify: true)).Client;
        Assert.Equal(1, tls.Count);
        var set = new MetricProviderSet([new PrometheusMetricProvider(new HttpClient(), tlsClients: tls)], tls);
        set.Dispose();
        Assert.Equal(0, tls.Count);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetAsync(new Uri("https://127.0.0.1:1/")));
    }
}
