using System.Text.RegularExpressions;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

public class RolloutSpecParserTests
{
    public static TheoryData<string> BrokenFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Specs", "broken"), "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(RepoPaths.Examples, "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void The_broken_corpus_has_at_least_thirty_files()
    {
        Assert.True(BrokenFiles().Count >= 30);
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Each_broken_spec_gives_the_precise_problem(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Specs", "broken", file);
        var text = File.ReadAllText(path);
        var expect = Regex.Match(text, @"^# expect: (\d+): (\S+): (.+)$", RegexOptions.Multiline);
        Assert.True(expect.Success, $"{file} has no '# expect: line: field: message' header");
        var line = int.Parse(expect.Groups[1].Value);
        var field = expect.Groups[2].Value;
        var fragment = expect.Groups[3].Value.Trim();

        var result = RolloutSpecParser.Parse(text, file);

        Assert.Null(result.Spec);
        var match = result.Problems.FirstOrDefault(p => p.Field == field && p.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.True(match is not null,
            $"{file}: expected '{field}: ...{fragment}...' at line {line}; got:\n" + string.Join("\n", result.Problems));
        Assert.Equal(line, match.Line);
        Assert.Equal(file, match.File);
        Assert.StartsWith(line > 0 ? $"{file}:{line}:" : $"{file}: ", match.ToString());
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_parses_without_problems(string file)
    {
        var result = RolloutSpecParser.ParseFile(Path.Combine(RepoPaths.Examples, file));
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
    }

    [Fact]
    public void All_problems_are_reported_at_once()
    {
        var yaml = """
            apiVersion: kubestead.io/v1alpha1
            kind: Rollout
            metadata:
              name: shop
            spec:
              service: shop
              meshProvider: none
              stable:
                deployment: shop
              canary:
                image: shop:2
              steps:
                - setWeight: 150
                - pause:
                    duration: 3 days
                - setWieght: 5
            """;
        var result = RolloutSpecParser.Parse(yaml, "s.yaml");
        Assert.Equal(3, result.Problems.Count);
        Assert.Contains(result.Problems, p => p.Field == "spec.steps[0].setWeight" && p.Line == 13);
        Assert.Contains(result.Problems, p => p.Field == "spec.steps[1].pause.duration" && p.Line == 15);
        Assert.Contains(result.Problems, p => p.Field == "spec.steps[2].setWieght" && p.Message.Contains("did you mean 'setWeight'"));
    }

    [Theory]
    [InlineData("", "none", 10.0, 10.0)]
    [InlineData("  progressDeadline: 4m\n", "none", 4.0, 4.0)]
    [InlineData("  progressDeadline: 4m\n  none:\n    readyTimeout: 2m\n", "none", 4.0, 2.0)]
    [InlineData("  progressDeadline: 90s\n", "istio", 1.5, null)]
    public void The_progress_deadline_defaults_to_ten_minutes_and_none_readyTimeout_follows_it(string extra, string mesh, double minutes, double? noneMinutes)
    {
        var istio = mesh == "istio" ? "  istio:\n    virtualService:\n      name: shop\n    destinationRule:\n      name: shop\n" : "";
        var yaml = "apiVersion: kubestead.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: shop\nspec:\n  service: shop\n" +
                   $"  meshProvider: {mesh}\n{istio}{extra}  stable:\n    deployment: shop\n  canary:\n    image: shop:2\n  steps:\n    - setWeight: 10\n";
        var result = RolloutSpecParser.Parse(yaml, "s.yaml");
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(TimeSpan.FromMinutes(minutes), result.Spec!.ProgressDeadline);
        Assert.Equal(noneMinutes is { } n ? TimeSpan.FromMinutes(n) : null, result.Spec.None?.ReadyTimeout);
    }

    [Fact]
    public void Defaults_are_applied()
    {
        var spec = RolloutSpecParser.ParseFile(Path.Combine(RepoPaths.Examples, "linkerd.yaml")).Spec!;
        Assert.Equal("gateway.networking.k8s.io", spec.Linkerd!.ApiGroup);
        Assert.Equal("version", spec.VersionLabel);
        Assert.Equal("pause", spec.Policies.OnDrift);
        Assert.Equal(TimeSpan.FromMinutes(1), spec.Analysis!.Interval);
        Assert.Equal(3, spec.Analysis.ConsecutiveErrorLimit);
        Assert.Equal("sequential", spec.Analysis.Metrics[0].Judge.Kind);
        Assert.Equal(0.5, Assert.IsType<SetWeightStepSpec>(spec.Steps[0]).Weight);
        Assert.Equal(new AnalysisStepSpec(TimeSpan.FromMinutes(30), true), spec.Steps[3]);
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("250ms", 0.25)]
    public void Durations_parse(string text, double seconds)
    {
        Assert.True(SpecDuration.TryParse(text, out var d));
        Assert.Equal(seconds, d.TotalSeconds, 6);
    }

    [Fact]
    public void Durations_round_trip_through_format()
    {
        FsCheck.Check.QuickThrowOnFailure(FsCheck.Fluent.Prop.ForAll<int>(n =>
        {
            var d = TimeSpan.FromSeconds(Math.Abs(n % 1_000_000) + 1);
            return SpecDuration.TryParse(SpecDuration.Format(d), out var back) && back == d;
        }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 m")]
    [InlineData("m5")]
    [InlineData("-5m")]
    public void Bad_durations_are_rejected(string text) => Assert.False(SpecDuration.TryParse(text, out _));
}
