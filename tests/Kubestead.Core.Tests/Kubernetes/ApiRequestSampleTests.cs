using Kubestead.Kubernetes;

namespace Kubestead.Core.Tests.Kubernetes;

/// <summary>How a request is named in the controller's API request metrics: Kubernetes verbs and group-qualified resources.</summary>
public class ApiRequestSampleTests
{
    [Theory]
    [InlineData("GET", "/api/v1/namespaces/web/configmaps/kubestead-shop", 200, "get", "configmaps")]
    [InlineData("GET", "/api/v1/namespaces/web/configmaps?labelSelector=a%3Db", 200, "list", "configmaps")]
    [InlineData("GET", "/api/v1/configmaps?watch=true&allowWatchBookmarks=true", 200, "watch", "configmaps")]
    [InlineData("PUT", "/apis/coordination.k8s.io/v1/namespaces/web/leases/kubestead-shop", 409, "update", "leases.coordination.k8s.io")]
    [InlineData("POST", "/apis/events.k8s.io/v1/namespaces/web/events", 201, "create", "events.events.k8s.io")]
    [InlineData("PATCH", "/apis/apps/v1/namespaces/web/deployments/shop/scale", 200, "patch", "deployments.apps")]
    [InlineData("DELETE", "/apis/apps/v1/namespaces/web/deployments/shop-canary", 200, "delete", "deployments.apps")]
    [InlineData("GET", "/api/v1/namespaces/web", 200, "get", "namespaces")]
    [InlineData("GET", "/apis", 200, "list", "unknown")]
    public void Names_the_verb_and_the_resource(string method, string pathAndQuery, int status, string verb, string resource)
    {
        var sample = ApiRequestSample.From(new HttpMethod(method), new Uri("https://10.0.0.1:6443" + pathAndQuery), status);
        Assert.Equal(new ApiRequestSample(verb, resource, status), sample);
    }

    [Theory]
    [InlineData(200, false)]
    [InlineData(404, true)]
    [InlineData(503, true)]
    [InlineData(null, true)]
    public void Errors_are_no_answer_or_a_4xx_5xx_status(int? status, bool error) =>
        Assert.Equal(error, new ApiRequestSample("get", "configmaps", status).IsError);
}
