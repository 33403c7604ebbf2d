using System.Text;

namespace Kubestead.Reports;

/// <summary>
/// Escaping for the report. Everything from the cluster (names, messages, summaries) goes through it, for element
/// text and attribute values alike; control characters XML cannot hold are dropped so the page stays well-formed.
/// </summary>
public static class Html
{
    public static string Escape(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '\t' or '\n' or '\r': sb.Append(c); break;
                case < ' ' or '\uFFFE' or '\uFFFF': break;
                default: sb.Append(c); break;
            }
        return sb.ToString();
    }
}
