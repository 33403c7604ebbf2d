namespace Kubestead.Traffic.Dtabs;

/// <summary>Text that is not a dtab (or not a path, or not a name tree); <see cref="Position"/> is the 0-based offset.</summary>
public sealed class DtabSyntaxException(string message, int position) : FormatException(message)
{
    public int Position { get; } = position;
}
