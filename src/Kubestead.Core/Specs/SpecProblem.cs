namespace Kubestead.Specs;

/// <summary>One thing wrong with a spec, located to the file, line, column and field.</summary>
public sealed record SpecProblem(string File, int Line, int Column, string Field, string Message)
{
    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}:{Column}: {Field}: {Message}" : $"{File}: {Field}: {Message}";
}

/// <summary>The spec, or every problem found in it.</summary>
public sealed record SpecParseResult(RolloutSpec? Spec, IReadOnlyList<SpecProblem> Problems)
{
    public bool IsValid => Spec is not null && Problems.Count == 0;
}

/// <summary>A spec with problems; nothing was written to the cluster.</summary>
public sealed class RolloutSpecInvalidException(IReadOnlyList<SpecProblem> problems)
    : KubesteadException("InvalidRolloutSpec", KubesteadErrorKind.InvalidInput,
        $"The rollout spec has {problems.Count} problem(s):" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)),
        problems.FirstOrDefault()?.File)
{
    public IReadOnlyList<SpecProblem> Problems { get; } = problems;
}
