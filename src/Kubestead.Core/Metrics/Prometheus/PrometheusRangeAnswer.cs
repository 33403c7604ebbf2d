using System.Globalization;
using System.Text.Json;

namespace Kubestead.Metrics.Prometheus;

/// <summary>
/// A <c>query_range</c> answer read token by token (<see cref="Utf8JsonReader"/>) into one <see cref="RangeSeries"/> per
/// series. Properties may come in any order and unknown ones are skipped; a series without <c>values</c> is left out (as
/// one with no point at the asked times adds nothing); a point's value is its string ("+Inf", "-Inf", "NaN" or a number),
/// 0 when it is not a string. Malformed JSON throws <see cref="JsonException"/>.
/// </summary>
internal static class PrometheusRangeAnswer
{
    /// <summary>The series, or null when the answer's <c>status</c> is not "success".</summary>
    /// <param name="times">The asked evaluation times (unix ms), ascending: a point is kept where its time is one of them.</param>
    public static List<RangeSeries>? Read(ReadOnlySpan<byte> utf8, long[] times)
    {
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read()) throw new JsonException("empty answer");
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            while (reader.Read()) { }
            return null;
        }
        string? status = null;
        List<RangeSeries>? series = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("status"u8))
            {
                reader.Read();
                status = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject) series = Data(ref reader, times);
                else reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        // Anything after the answer's object is malformed (the reader throws on it).
        while (reader.Read()) { }
        return status == "success" ? series ?? [] : null;
    }

    /// <summary>The <c>data</c> object: its <c>result</c> array's series.</summary>
    private static List<RangeSeries> Data(ref Utf8JsonReader reader, long[] times)
    {
        var series = new List<RangeSeries>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isResult = reader.ValueTextEquals("result"u8);
            reader.Read();
            if (!isResult || reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                if (Series(ref reader, times) is { } s) series.Add(s);
            }
        }
        return series;
    }

    /// <summary>One series object; null when it has no <c>values</c> array.</summary>
    private static RangeSeries? Series(ref Utf8JsonReader reader, long[] times)
    {
        var series = new RangeSeries(EmptyLabels, times.Length);
        var hasValues = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("metric"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject) series.Labels = Labels(ref reader);
                else reader.Skip();
            }
            else if (reader.ValueTextEquals("values"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                hasValues = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    Point(ref reader, times, series);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return hasValues ? series : null;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();

    /// <summary>A <c>metric</c> object: every label, a value that is not a string read as "".</summary>
    private static Dictionary<string, string> Labels(ref Utf8JsonReader reader)
    {
        var labels = new Dictionary<string, string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            labels[name] = reader.TokenType == JsonTokenType.String ? reader.GetString()! : "";
            reader.Skip();
        }
        return labels;
    }

    /// <summary>One <c>[time, "value"]</c> point, kept when its time is one of <paramref name="times"/>.</summary>
    private static void Point(ref Utf8JsonReader reader, long[] times, RangeSeries series)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        var index = -1;
        var value = 0.0;
        var position = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (position == 0 && reader.TokenType == JsonTokenType.Number)
                index = Array.BinarySearch(times, (long)Math.Round(reader.GetDouble() * 1000));
            else if (position == 1)
                value = reader.TokenType == JsonTokenType.String ? Value(ref reader) : 0;
            reader.Skip();
            position++;
        }
        if (index < 0) return;
        series.Values[index] = value;
        series.Present[index] = true;
    }

    /// <summary>A sample's value from its string, without making the string where it is a plain number.</summary>
    private static double Value(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            var text = reader.ValueSpan;
            if (text.SequenceEqual("+Inf"u8)) return double.PositiveInfinity;
            if (text.SequenceEqual("-Inf"u8)) return double.NegativeInfinity;
            if (text.SequenceEqual("NaN"u8)) return double.NaN;
            if (double.TryParse(text, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var number)) return number;
        }
        return PrometheusClient.Value(reader.GetString());
    }
}
