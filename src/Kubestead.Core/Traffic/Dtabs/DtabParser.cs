using System.Globalization;
using System.Text;

namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// Reads dtab text with Finagle's grammar: <c>dtab ::= dentry (';' dentry)* [';']</c>, <c>dentry ::= prefix '=>' tree</c>,
/// <c>tree ::= tree1 ('|' tree1)*</c>, <c>tree1 ::= weighted ('&amp;' weighted)*</c>, <c>weighted ::= [number '*'] simple</c>,
/// <c>simple ::= '(' tree ')' | path | '!' | '~' | '$'</c>. Labels are <c>[0-9A-Za-z_:.#$%-]</c> or <c>\xHH</c>, so
/// <c>/#/io.l5d.k8s</c> is a path; a prefix label may also be <c>*</c> (any one label). Where whitespace may stand, a
/// <c>#</c> starts a comment to the end of the line. Every dentry's span in the text is kept, so the text around
/// the dentries (comments, spacing, order) can be reproduced exactly.
/// </summary>
public sealed class DtabParser
{
    private readonly string _s;
    private int _i;
    private int _tokenEnd;

    private DtabParser(string s) => _s = s;

    public static DtabDocument ParseDocument(string text)
    {
        var p = new DtabParser(text);
        var entries = new List<DtabEntry>();
        do
        {
            p.SkipTrivia();
            if (!p.AtEnd)
            {
                var start = p._i;
                var d = p.ReadDentry();
                entries.Add(new DtabEntry(start, p._tokenEnd, d));
                p.SkipTrivia();
            }
        } while (p.MaybeEat(';'));
        p.SkipTrivia();
        p.EnsureEnd();
        return new DtabDocument(text, entries);
    }

    public static Dentry ParseDentry(string text)
    {
        var p = new DtabParser(text);
        p.SkipTrivia();
        var d = p.ReadDentry();
        p.SkipTrivia();
        p.EnsureEnd();
        return d;
    }

    public static NameTree ParseTree(string text)
    {
        var p = new DtabParser(text);
        var t = p.ReadTree();
        p.SkipTrivia();
        p.EnsureEnd();
        return t;
    }

    /// <summary>A path (<c>/a/b</c>, or <c>/</c> for the empty path) in its canonical form; throws on anything else.</summary>
    public static string ParsePath(string text)
    {
        var p = new DtabParser(text);
        var path = p.ReadPath(prefix: false);
        p.SkipTrivia();
        p.EnsureEnd();
        return path;
    }

    /// <summary>A dentry prefix (a path whose labels may be <c>*</c>).</summary>
    public static string ParsePrefix(string text)
    {
        var p = new DtabParser(text);
        var path = p.ReadPath(prefix: true);
        p.SkipTrivia();
        p.EnsureEnd();
        return path;
    }

    private bool AtEnd => _i >= _s.Length;

    private char Peek => AtEnd ? '\uffff' : _s[_i];

    private bool MaybeEat(char c)
    {
        if (Peek != c) return false;
        _i++;
        return true;
    }

    private void Eat(char c)
    {
        if (!MaybeEat(c)) Fail($"'{c}'");
    }

    private void EnsureEnd()
    {
        if (!AtEnd) Fail("end of input");
    }

    private void Fail(string expected)
    {
        var found = AtEnd ? "end of input" : $"'{_s[_i]}'";
        throw new DtabSyntaxException($"{expected} expected but {found} found at offset {_i.ToString(CultureInfo.InvariantCulture)}", _i);
    }

    private void SkipTrivia()
    {
        while (!AtEnd && (char.IsWhiteSpace(_s[_i]) || _s[_i] == '#'))
        {
            if (_s[_i] == '#')
                while (!AtEnd && _s[_i] != '\n') _i++;
            else _i++;
        }
    }

    internal static bool IsLabelChar(char c) =>
        c is >= '0' and <= '9' or >= 'A' and <= 'Z' or >= 'a' and <= 'z' or '_' or ':' or '.' or '#' or '$' or '%' or '-';

    private string ReadLabel()
    {
        var sb = new StringBuilder();
        do
        {
            if (IsLabelChar(Peek)) sb.Append(_s[_i++]);
            else if (Peek == '\\')
            {
                _i++;
                Eat('x');
                var hex = 0;
                for (var k = 0; k < 2; k++)
                {
                    if (!Uri.IsHexDigit(Peek)) Fail("hex digit");
                    hex = hex * 16 + Uri.FromHex(_s[_i++]);
                }
                // Finagle shows a byte that is a label character as itself, any other as \xhh.
                if (IsLabelChar((char)hex)) sb.Append((char)hex);
                else sb.Append(CultureInfo.InvariantCulture, $"\\x{hex:x2}");
            }
            else Fail("label character");
        } while (IsLabelChar(Peek) || Peek == '\\');
        return sb.ToString();
    }

    private string ReadPath(bool prefix)
    {
        SkipTrivia();
        Eat('/');
        bool Starts() => IsLabelChar(Peek) || Peek == '\\' || (prefix && Peek == '*');
        if (!Starts()) return "/";
        var sb = new StringBuilder();
        do
        {
            sb.Append('/');
            if (prefix && MaybeEat('*')) sb.Append('*');
            else sb.Append(ReadLabel());
        } while (MaybeEat('/'));
        return sb.ToString();
    }

    private NameTree ReadTree()
    {
        var trees = new List<NameTree>();
        do
        {
            trees.Add(ReadTree1());
            SkipTrivia();
        } while (MaybeEat('|'));
        return trees.Count > 1 ? new NameTree.Alt(trees) : trees[0];
    }

    private NameTree ReadTree1()
    {
        var trees = new List<Weighted>();
        do
        {
            trees.Add(ReadWeighted());
            SkipTrivia();
        } while (MaybeEat('&'));
        return trees.Count > 1 ? new NameTree.Union(trees) : trees[0].Tree;
    }

    private Weighted ReadWeighted()
    {
        SkipTrivia();
        var weight = 1.0;
        if (char.IsAsciiDigit(Peek) || Peek == '.')
        {
            var start = _i;
            var dot = false;
            while (char.IsAsciiDigit(Peek) || Peek == '.')
            {
                if (Peek == '.')
                {
                    if (dot) Fail("digit");
                    dot = true;
                }
                _i++;
            }
            var text = _s[start.._i];
            if (text == ".") { _i = start; Fail("weight"); }
            weight = double.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            SkipTrivia();
            Eat('*');
            SkipTrivia();
        }
        return new Weighted(weight, ReadSimple());
    }

    private NameTree ReadSimple()
    {
        var tree = ReadSimpleCore();
        _tokenEnd = _i;
        return tree;
    }

    private NameTree ReadSimpleCore()
    {
        SkipTrivia();
        switch (Peek)
        {
            case '(':
                _i++;
                var t = ReadTree();
                SkipTrivia();
                Eat(')');
                return t;
            case '/': return new NameTree.Leaf(ReadPath(prefix: false));
            case '!': _i++; return new NameTree.Fail();
            case '~': _i++; return new NameTree.Neg();
            case '$': _i++; return new NameTree.Empty();
            default:
                Fail("a path, '(', '!', '~' or '$'");
                return null!;
        }
    }

    private Dentry ReadDentry()
    {
        var prefix = ReadPath(prefix: true);
        SkipTrivia();
        Eat('=');
        Eat('>');
        return new Dentry(prefix, ReadTree());
    }
}
