using System.Globalization;
using System.Text;

namespace Kubestead.Reports;

/// <summary>A point of a chart series: when, the value, and the hover text.</summary>
public sealed record ChartPoint(DateTimeOffset At, double Value, string Title);

/// <summary>
/// An inline SVG chart over time, self-contained (no script, no font, no network): series as lines with a circle per
/// data point (hover shows its <c>&lt;title&gt;</c>), shaded spans, event markers and horizontal bounds. Accessible:
/// role="img" with a title and description. Each point carries its time and value in data-t and data-v, so a test
/// (or a reader's tool) can check the chart against the stored history. Colours come from CSS classes the report
/// defines, so light and dark schemes both work.
/// </summary>
public sealed class SvgTimeChart(string id, string title, string description, DateTimeOffset from, DateTimeOffset to)
{
    public const double Width = 960, Height = 280;
    private const double Left = 64, Right = 24, Top = 34, Bottom = 44;
    private readonly List<(string Name, string Css, IReadOnlyList<ChartPoint> Points, bool Step)> _series = new();
    private readonly List<(DateTimeOffset From, DateTimeOffset To, string Css, string Title)> _spans = new();
    private readonly List<(DateTimeOffset At, string Css, string Label)> _markers = new();
    private readonly List<(double Value, string Css, string Label)> _bounds = new();
    private readonly List<(string Css, string Name)> _spanLegend = new();

    public double YMin { get; init; }

    public double YMax { get; init; } = 1;

    public bool LogY { get; init; }

    public string YLabel { get; init; } = "";

    public Func<double, string> FormatY { get; init; } = v => v.ToString("0.##", CultureInfo.InvariantCulture);

    public void AddSeries(string name, string css, IReadOnlyList<ChartPoint> points, bool step = false) => _series.Add((name, css, points, step));

    public void AddSpan(DateTimeOffset start, DateTimeOffset end, string css, string spanTitle) => _spans.Add((start, end, css, spanTitle));

    /// <summary>Names a kind of shaded span in the legend (only when the chart has such a span).</summary>
    public void NameSpans(string css, string name) => _spanLegend.Add((css, name));

    public void AddMarker(DateTimeOffset at, string css, string label) => _markers.Add((at, css, label));

    public void AddBound(double value, string css, string label) => _bounds.Add((value, css, label));

    public double X(DateTimeOffset t)
    {
        var span = Math.Max(1, (to - from).TotalSeconds);
        return Left + (Width - Left - Right) * Math.Clamp((t - from).TotalSeconds / span, 0, 1);
    }

    public double Y(double v)
    {
        double lo = YMin, hi = YMax, x = v;
        if (LogY)
        {
            lo = Math.Log10(lo);
            hi = Math.Log10(hi);
            x = Math.Log10(Math.Max(v, YMin));
        }
        var f = hi > lo ? (x - lo) / (hi - lo) : 0;
        return Top + (Height - Top - Bottom) * (1 - Math.Clamp(f, 0, 1));
    }

    public void Render(StringBuilder sb)
    {
        var plotBottom = Height - Bottom;
        sb.Append(CultureInfo.InvariantCulture, $"<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {Width} {Height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title id=\"{id}-title\">{Html.Escape(title)}</title><desc id=\"{id}-desc\">{Html.Escape(description)}</desc>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"plot\" x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{plotBottom - Top}\"/>");
        foreach (var (s, e, css, t) in _spans)
            sb.Append(CultureInfo.InvariantCulture,
                $"<rect class=\"span {css}\" x=\"{N(X(s))}\" y=\"{Top}\" width=\"{N(Math.Max(1, X(e) - X(s)))}\" height=\"{plotBottom - Top}\" data-from=\"{Iso(s)}\" data-to=\"{Iso(e)}\"><title>{Html.Escape(t)}</title></rect>");
        RenderAxes(sb, plotBottom);
        foreach (var (v, css, label) in _bounds)
        {
            var y = N(Y(v));
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"bound {css}\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y}\" y2=\"{y}\" data-v=\"{D(v)}\"><title>{Html.Escape(label)}</title></line>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"label {css}\" x=\"{Width - Right - 4}\" y=\"{N(Y(v) - 4)}\" text-anchor=\"end\">{Html.Escape(label)}</text>");
        }
        foreach (var (at, css, label) in _markers)
        {
            var x = N(X(at));
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"marker {css}\" x1=\"{x}\" x2=\"{x}\" y1=\"{Top}\" y2=\"{plotBottom}\" data-t=\"{Iso(at)}\"><title>{Html.Escape(label)}</title></line>");
        }
        foreach (var (name, css, points, step) in _series)
        {
            if (points.Count == 0) continue;
            sb.Append(CultureInfo.InvariantCulture, $"<g class=\"series {css}\" data-series=\"{Html.Escape(name)}\">");
            var path = new StringBuilder();
            for (var i = 0; i < points.Count; i++)
            {
                var (x, y) = (N(X(points[i].At)), N(Y(points[i].Value)));
                if (i == 0) path.Append(CultureInfo.InvariantCulture, $"M{x},{y}");
                else if (step) path.Append(CultureInfo.InvariantCulture, $" H{x} V{y}");
                else path.Append(CultureInfo.InvariantCulture, $" L{x},{y}");
            }
            if (step) path.Append(CultureInfo.InvariantCulture, $" H{N(X(to))}");
            sb.Append(CultureInfo.InvariantCulture, $"<path class=\"line\" d=\"{path}\"/>");
            foreach (var p in points)
                sb.Append(CultureInfo.InvariantCulture,
                    $"<circle class=\"pt\" cx=\"{N(X(p.At))}\" cy=\"{N(Y(p.Value))}\" r=\"{(points.Count > 120 ? 2 : 3)}\" data-t=\"{Iso(p.At)}\" data-v=\"{D(p.Value)}\"><title>{Html.Escape(p.Title)}</title></circle>");
            sb.Append("</g>");
        }
        RenderLegend(sb);
        sb.Append("</svg>");
    }

    private void RenderAxes(StringBuilder sb, double plotBottom)
    {
        foreach (var v in YTicks())
        {
            var y = N(Y(v));
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y}\" y2=\"{y}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{Left - 6}\" y=\"{N(Y(v) + 4)}\" text-anchor=\"end\">{Html.Escape(FormatY(v))}</text>");
        }
        var total = to - from;
        var stepSeconds = NiceStep(Math.Max(1, total.TotalSeconds) / 8, [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]);
        for (var s = 0.0; s <= total.TotalSeconds + 0.001; s += stepSeconds)
        {
            var x = N(X(from + TimeSpan.FromSeconds(s)));
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{x}\" x2=\"{x}\" y1=\"{Top}\" y2=\"{plotBottom}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{x}\" y=\"{plotBottom + 16}\" text-anchor=\"middle\">{Elapsed(TimeSpan.FromSeconds(s))}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Left + (Width - Left - Right) / 2}\" y=\"{Height - 6}\" text-anchor=\"middle\">time since the rollout started (from {Iso(from)})</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"14\" y=\"{Top + (plotBottom - Top) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Top + (plotBottom - Top) / 2})\">{Html.Escape(YLabel)}</text>");
    }

    private void RenderLegend(StringBuilder sb)
    {
        var x = Left;
        foreach (var (name, css, points, _) in _series)
        {
            if (points.Count == 0) continue;
            sb.Append(CultureInfo.InvariantCulture, $"<g class=\"legend {css}\"><line class=\"line\" x1=\"{N(x)}\" x2=\"{N(x + 18)}\" y1=\"16\" y2=\"16\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{N(x + 24)}\" y=\"20\">{Html.Escape(name)}</text></g>");
            x += 40 + 7 * name.Length;
        }
        foreach (var (css, name) in _spanLegend.Where(l => _spans.Any(s => s.Css == l.Css)))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<g class=\"legend\"><rect class=\"span {css}\" x=\"{N(x)}\" y=\"9\" width=\"18\" height=\"14\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{N(x + 24)}\" y=\"20\">{Html.Escape(name)}</text></g>");
            x += 40 + 7 * name.Length;
        }
    }

    private IEnumerable<double> YTicks()
    {
        if (LogY)
        {
            var lo = (int)Math.Floor(Math.Log10(YMin));
            var hi = (int)Math.Ceiling(Math.Log10(YMax));
            var every = Math.Max(1, (hi - lo) / 6);
            for (var e = lo; e <= hi; e += every) yield return Math.Pow(10, e);
            yield break;
        }
        var step = NiceStep((YMax - YMin) / 5, [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000]);
        for (var v = YMin; v <= YMax + step / 1000; v += step) yield return Math.Round(v, 6);
    }

    private static double NiceStep(double raw, double[] steps) => steps.FirstOrDefault(s => s >= raw, steps[^1]);

    public static string Elapsed(TimeSpan t) => t.TotalHours >= 1
        ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}"
        : $"{(int)t.TotalMinutes}:{t.Seconds:00}";

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>A value exactly as a test reads it back ("R" round-trips a double).</summary>
    public static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
