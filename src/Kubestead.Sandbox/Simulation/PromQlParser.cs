using System.Globalization;
using System.Text;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// The one PromQL parser of the sandbox: the subset Kubestead's providers send (a selector with <c>=</c>, <c>!=</c>,
/// <c>=~</c>, <c>!~</c> matchers, <c>sum</c> with an optional <c>by (...)</c> before or after its argument, and
/// <c>rate</c>/<c>increase</c> over a range), and the series lines of the text exposition, which share its selector
/// syntax. Anything else is refused naming what and where, so a new query shape fails loudly instead of being misread.
/// </summary>
public sealed class PromQlParser
{
    private static readonly string[] Functions = ["rate", "increase"];

    private readonly string _text;
    private int _pos;

    private PromQlParser(string text) => _text = text;

    public static PromQlQuery Parse(string query)
    {
        var p = new PromQlParser(query);
        var result = p.Query(allowSum: true);
        p.SkipSpace();
        if (!p.AtEnd) throw p.Unsupported($"unexpected '{p.Rest()}'");
        return result;
    }

    /// <summary>A series line of the text exposition format: <c>name{labels} value [timestamp]</c>.</summary>
    public static (string Name, Dictionary<string, string> Labels, double Value) ParseSeriesLine(string line)
    {
        var p = new PromQlParser(line);
        var selector = p.Selector();
        if (selector.Matchers.Any(m => m.Op != LabelMatchOp.Equal)) throw p.Unsupported("a series line's labels are name=\"value\"");
        p.SkipSpace();
        var value = p.Word(c => !char.IsWhiteSpace(c));
        var parsed = value switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw p.Unsupported($"'{value}' is not a sample value"),
        };
        return (selector.Metric, selector.Matchers.ToDictionary(m => m.Label, m => m.Value, StringComparer.Ordinal), parsed);
    }

    private bool AtEnd => _pos >= _text.Length;

    private PromQlQuery Query(bool allowSum)
    {
        SkipSpace();
        var start = _pos;
        var word = Identifier();
        SkipSpace();
        if (word == "sum" && LooksAtWord("without")) throw Unsupported("without (...) (only by (...))");
        if (word == "sum" && (Peek('(') || LooksAtWord("by")))
        {
            if (!allowSum) throw Unsupported("nested aggregations", start);
            var by = Grouping();
            Expect('(');
            var inner = Query(allowSum: false);
            Expect(')');
            SkipSpace();
            var after = Grouping();
            if (by is not null && after is not null) throw Unsupported("two by (...) clauses", start);
            return inner with { SumBy = by ?? after ?? [] };
        }
        if (Peek('(') && word.Length > 0)
        {
            if (!Functions.Contains(word))
                throw Unsupported(word is "avg" or "min" or "max" or "count" or "topk" or "quantile"
                    ? $"aggregation '{word}' (only sum)"
                    : $"function '{word}' (only {string.Join(", ", Functions)})", start);
            Expect('(');
            var selector = Selector();
            SkipSpace();
            if (!Peek('[')) throw Unsupported($"{word}(...) without a range such as [5m]");
            _pos++;
            var range = Duration();
            Expect(']');
            Expect(')');
            return new PromQlQuery(selector, word, range);
        }
        _pos = start;
        return new PromQlQuery(Selector());
    }

    private IReadOnlyList<string>? Grouping()
    {
        SkipSpace();
        if (!LooksAtWord("by"))
        {
            if (LooksAtWord("without")) throw Unsupported("without (...) (only by (...))");
            return null;
        }
        _pos += 2;
        Expect('(');
        var labels = new List<string>();
        SkipSpace();
        while (!Peek(')'))
        {
            var label = Identifier();
            if (label.Length == 0) throw Unsupported("a label name is expected in by (...)");
            labels.Add(label);
            SkipSpace();
            if (Peek(',')) _pos++;
            else if (!Peek(')')) throw Unsupported("',' or ')' is expected in by (...)");
            SkipSpace();
        }
        _pos++;
        return labels;
    }

    private PromQlSelector Selector()
    {
        SkipSpace();
        var metric = Identifier(allowColon: true);
        var matchers = new List<LabelMatcher>();
        SkipSpace();
        if (Peek('{'))
        {
            _pos++;
            SkipSpace();
            while (!Peek('}'))
            {
                var labelAt = _pos;
                var label = Identifier();
                if (label.Length == 0) throw Unsupported("a label name is expected");
                SkipSpace();
                var op = Operator() ?? throw Unsupported($"a matcher operator (=, !=, =~, !~) is expected after '{label}'");
                SkipSpace();
                var value = String();
                if (op is LabelMatchOp.Regex or LabelMatchOp.NotRegex)
                {
                    try
                    {
                        _ = new System.Text.RegularExpressions.Regex(value);
                    }
                    catch (ArgumentException e)
                    {
                        throw Unsupported($"'{value}' is not a valid regular expression ({e.Message})", labelAt);
                    }
                }
                matchers.Add(new LabelMatcher(label, op, value));
                SkipSpace();
                if (Peek(',')) _pos++;
                else if (!Peek('}')) throw Unsupported("',' or '}' is expected after a matcher");
                SkipSpace();
            }
            _pos++;
        }
        if (metric.Length == 0)
        {
            var byName = matchers.FirstOrDefault(m => m.Label == "__name__" && m.Op == LabelMatchOp.Equal)
                         ?? throw Unsupported("a metric name is expected");
            metric = byName.Value;
            matchers.Remove(byName);
        }
        SkipSpace();
        if (LooksAtWord("offset") || Peek('@')) throw Unsupported("offset and @ modifiers");
        return new PromQlSelector(metric, matchers);
    }

    private LabelMatchOp? Operator()
    {
        foreach (var (token, op) in new[] { ("=~", LabelMatchOp.Regex), ("!~", LabelMatchOp.NotRegex), ("!=", LabelMatchOp.NotEqual), ("=", LabelMatchOp.Equal) })
            if (string.CompareOrdinal(_text, _pos, token, 0, token.Length) == 0)
            {
                _pos += token.Length;
                return op;
            }
        return null;
    }

    private string String()
    {
        if (AtEnd || _text[_pos] is not ('"' or '\'' or '`')) throw Unsupported("a quoted string is expected");
        var quote = _text[_pos++];
        var sb = new StringBuilder();
        while (!AtEnd && _text[_pos] != quote)
        {
            var c = _text[_pos++];
            if (c == '\\' && quote != '`' && !AtEnd)
            {
                var e = _text[_pos++];
                sb.Append(e switch { 'n' => '\n', 't' => '\t', _ => e });
            }
            else sb.Append(c);
        }
        if (AtEnd) throw Unsupported("a string is not closed");
        _pos++;
        return sb.ToString();
    }

    private TimeSpan Duration()
    {
        var start = _pos;
        var total = TimeSpan.Zero;
        while (!AtEnd && char.IsAsciiDigit(_text[_pos]))
        {
            var number = long.Parse(Word(char.IsAsciiDigit), CultureInfo.InvariantCulture);
            var unit = Word(char.IsAsciiLetter);
            total += unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                "d" => TimeSpan.FromDays(number),
                "w" => TimeSpan.FromDays(7 * number),
                "y" => TimeSpan.FromDays(365 * number),
                _ => throw Unsupported($"'{unit}' is not a duration unit (ms, s, m, h, d, w, y)", start),
            };
        }
        if (total <= TimeSpan.Zero) throw Unsupported("a range such as 5m is expected", start);
        return total;
    }

    private string Identifier(bool allowColon = false) =>
        AtEnd || !(char.IsAsciiLetter(_text[_pos]) || _text[_pos] == '_' || (allowColon && _text[_pos] == ':'))
            ? ""
            : Word(c => char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':'));

    private string Word(Func<char, bool> part)
    {
        var start = _pos;
        while (!AtEnd && part(_text[_pos])) _pos++;
        return _text[start.._pos];
    }

    private bool LooksAtWord(string word) =>
        string.CompareOrdinal(_text, _pos, word, 0, word.Length) == 0
        && (_pos + word.Length >= _text.Length || !char.IsAsciiLetterOrDigit(_text[_pos + word.Length]) && _text[_pos + word.Length] != '_');

    private bool Peek(char c) => !AtEnd && _text[_pos] == c;

    private void Expect(char c)
    {
        SkipSpace();
        if (!Peek(c)) throw Unsupported(AtEnd ? $"'{c}' is expected at the end" : $"'{c}' is expected, not '{Rest()}'");
        _pos++;
        SkipSpace();
    }

    private void SkipSpace()
    {
        while (!AtEnd && char.IsWhiteSpace(_text[_pos])) _pos++;
    }

    private string Rest() => _text.Length - _pos > 20 ? _text.Substring(_pos, 20) + "..." : _text[_pos..];

    private PromQlNotSupportedException Unsupported(string what, int? at = null) =>
        new($"the sandbox's Prometheus does not answer this query: {what} (at character {(at ?? _pos) + 1} of {_text})");
}
