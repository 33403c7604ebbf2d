namespace Kubestead.Sandbox.Tests.RealCluster.Differential;

/// <summary>
/// Every scenario of <see cref="DifferentialScenarios"/> against the real kube-apiserver and the sandbox: the same
/// requests must get the same status codes, reasons and objects (metadata aside). Deliberate differences are listed
/// in docs/sandbox.md and kept out of these scenarios.
/// </summary>
public class DifferentialTests(DifferentialBackends backends) : IClassFixture<DifferentialBackends>
{
    [RealClusterTheory]
    [MemberData(nameof(DifferentialScenarios.Names), MemberType = typeof(DifferentialScenarios))]
    public async Task The_sandbox_answers_like_the_real_server(string scenario)
    {
        var run = DifferentialScenarios.All[scenario];
        var real = await backends.RealAsync();
        await run(real);
        var sandbox = await backends.SandboxAsync();
        await run(sandbox);
        Assert.NotEmpty(real.Transcript);
        Assert.Equal(string.Join("\n", real.Transcript), string.Join("\n", sandbox.Transcript));
    }

    [Fact]
    public void There_are_at_least_25_scenarios_with_distinct_names() =>
        Assert.True(DifferentialScenarios.All.Count >= 25, $"{DifferentialScenarios.All.Count} scenarios");
}
