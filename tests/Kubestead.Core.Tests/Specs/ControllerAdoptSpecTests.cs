using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

/// <summary><c>spec.controller.adopt</c> (issue #30): whether a controller may take over a rollout whose driver died.</summary>
public class ControllerAdoptSpecTests
{
    private static readonly string Base = RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Istio, "registry.example.com/shop:2").TrimEnd();

    [Theory]
    [InlineData("", false)]
    [InlineData("\n  controller: {}", false)]
    [InlineData("\n  controller: {adopt: false}", false)]
    [InlineData("\n  controller: {adopt: true}", true)]
    public void Adoption_is_off_unless_the_spec_opts_in(string block, bool adopt)
    {
        var result = RolloutSpecParser.Parse(Base + block + "\n");
        Assert.Empty(result.Problems);
        Assert.Equal(adopt, result.Spec!.ControllerAdopt);
    }

    [Theory]
    [InlineData("{adopt: yes please}", "spec.controller.adopt", "must be true or false")]
    [InlineData("{adpot: true}", "spec.controller.adpot", "did you mean 'adopt'?")]
    [InlineData("true", "spec.controller", "must be a mapping")]
    public void Bad_controller_fields_are_named(string value, string field, string message)
    {
        var result = RolloutSpecParser.Parse(Base + $"\n  controller: {value}\n");
        Assert.Null(result.Spec);
        Assert.Contains(result.Problems, p => p.Field == field && p.Message.Contains(message, StringComparison.Ordinal));
    }
}
