using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

/// <summary>The nginx mesh outside the router: the scaffolded spec, the defaults of the nginx section, the offline split plan.</summary>
public class NginxSpecTests
{
    [Fact]
    public void The_scaffolded_nginx_spec_parses_with_the_Ingress_named_like_the_service()
    {
        var yaml = RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Nginx, "registry.example.com/shop:2");
        var result = RolloutSpecParser.Parse(yaml);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(new NginxSettings("shop", null, "shop-canary", 100), result.Spec!.Nginx);
    }

    [Fact]
    public void Nginx_settings_are_refused_for_another_mesh_and_required_for_nginx()
    {
        var yaml = RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Nginx, "registry.example.com/shop:2");
        var asIstio = RolloutSpecParser.Parse(yaml.Replace("meshProvider: nginx", "meshProvider: smi"));
        Assert.Contains(asIstio.Problems, p => p.Field == "spec.nginx" && p.Message.Contains("do not apply when meshProvider is 'smi'"));
        var withoutSection = RolloutSpecParser.Parse(yaml.Replace("  nginx:\n    ingress: shop\n    canaryService: shop-canary\n", ""));
        Assert.Contains(withoutSection.Problems, p => p.Field == "spec.nginx" && p.Message.Contains("required"));
        var unknown = RolloutSpecParser.Parse(yaml.Replace("    ingress: shop\n", "    ingres: shop\n"));
        Assert.Contains(unknown.Problems, p => p.Field == "spec.nginx.ingres");
    }

    [Fact]
    public void The_offline_split_plan_rounds_to_whole_percents()
    {
        var plan = new KubesteadOffline().PlanSplit(new SplitPlanRequest(2.4, TimeSpan.FromMinutes(1), 100, CanaryRoutingMode.Binomial, MeshProviders.Nginx, null));
        Assert.Equal(2, plan.AchievableWeight);
        Assert.Equal(1, plan.MinimumCanaryWeight);
        Assert.Contains("canary-weight-total", plan.PrecisionExplanation);
    }
}
