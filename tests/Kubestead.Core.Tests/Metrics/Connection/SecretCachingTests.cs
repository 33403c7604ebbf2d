using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Metrics.Connection;
using Kubestead.Metrics.Prometheus;
using Kubestead.Sandbox.Cluster;
using Kubestead.Specs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>
/// A credential in a Secret is read through the API once per <see cref="SecretValueReader.SecretTtl"/>, not once per
/// metrics request; a refused request reads it afresh and tries once more, so a rotation still takes effect at once.
/// </summary>
public class SecretCachingTests
{
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    /// <summary>Forwards every call to the cluster, counting the GETs of Secrets.</summary>
    public class CountingApi : DispatchProxy
    {
        private IKubernetesApi _inner = null!;
        private int _secretGets;

        public int SecretGets => Volatile.Read(ref _secretGets);

        public static (IKubernetesApi Api, CountingApi Counter) Wrap(IKubernetesApi inner)
        {
            var proxy = Create<IKubernetesApi, CountingApi>();
            var counter = (CountingApi)(object)proxy;
            counter._inner = inner;
            return (proxy, counter);
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(IKubernetesApi.GetAsync) && args![0] is ResourceType { Plural: "secrets" }) Interlocked.Increment(ref _secretGets);
            try
            {
                return method.Invoke(_inner, args);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException!;
            }
        }
    }

    private static JsonObject Secret(string password) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "prom-auth", ["namespace"] = "web" },
        ["data"] = new JsonObject { ["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(password)) },
    };

    private static string Basic(string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"kubestead:{password}"));

    [Fact]
    public async Task A_secret_costs_one_api_get_per_ttl_and_a_rotated_one_is_used_at_the_next_request()
    {
        var accepted = Basic("pw-1");
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            if (ctx.Request.Headers.Authorization != accepted)
            {
                ctx.Response.StatusCode = 401;
                return Task.CompletedTask;
            }
            return ctx.Response.WriteAsync(LoopbackHttpServer.Vector(("shop-1", 100)));
        });
        var cluster = new EmulatedCluster();
        cluster.Seed(ResourceType.Secret, Secret("pw-1"));
        var (api, counter) = CountingApi.Wrap(cluster);
        var clock = new FakeTimeProvider(T);
        var spec = RolloutSpecParser.Parse(PrometheusConnectionSpecTests.Spec(
            "basicAuth:\n  username: kubestead\n  password: {secret: {name: prom-auth, key: password}}\n", server.Address.ToString().TrimEnd('/'))).Spec!;
        var query = new PrometheusMetricProvider(new HttpClient(), api, clock).Open(spec, spec.Analysis!.Metrics[0]);

        await query(T, T.AddMinutes(1), CancellationToken.None);
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(16, server.Requests.Count); // 2 windows: requests and failures of 2 versions at 2 edges each
        Assert.Equal(1, counter.SecretGets);
        clock.Advance(SecretValueReader.SecretTtl);
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(2, counter.SecretGets);

        // Rotated within the TTL: the kept password is refused once, the Secret is read again, the request is repeated.
        var secret = await cluster.GetAsync(ResourceType.Secret, "web", "prom-auth");
        secret["data"] = Secret("pw-2")["data"]!.DeepClone();
        await cluster.ReplaceAsync(ResourceType.Secret, "web", "prom-auth", secret);
        accepted = Basic("pw-2");
        await query(T, T.AddMinutes(1), CancellationToken.None);
        Assert.Equal(3, counter.SecretGets);
        Assert.Equal(24 + 1 + 8, server.Requests.Count);
        Assert.Single(server.Requests.Skip(24), r => r.Headers["Authorization"] == Basic("pw-1"));
    }
}
