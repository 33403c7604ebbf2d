namespace Kubestead.Metrics.Datadog;

/// <summary>
/// Datadog's v1 query parameter takes several queries separated by top-level commas, and tags each series it answers
/// with the <c>query_index</c> of the query it came from. Commas inside <c>{...}</c>, <c>(...)</c> and <c>[...]</c> (tag
/// lists, function arguments) do not separate queries. A user's query may itself be a list; its series are summed.
/// </summary>
internal static class DatadogQueryList
{
    /// <summary>How many queries the text holds: its top-level commas plus one.</summary>
    public static int Count(string query)
    {
        var (depth, count) = (0, 1);
        foreach (var c in query)
        {
            if (c is '{' or '(' or '[') depth++;
            else if (c is '}' or ')' or ']') depth = Math.Max(0, depth - 1);
            else if (c == ',' && depth == 0) count++;
        }
        return count;
    }
}
