using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace XenMigration.Qemu
{
    /// <summary>
    /// A small strict JSON parser for QEMU's VM description: objects become dictionaries, arrays lists,
    /// numbers long (or double). A dependency-free parser keeps the module one DLL that loads in both
    /// Windows PowerShell 5.1 and PowerShell 7 without assembly-version conflicts. Nesting is capped.
    /// </summary>
    internal sealed class QemuJson
    {
        private const int MaxDepth = 256;
        private readonly string _text;
        private int _pos;

        private QemuJson(string text) => _text = text;

        /// <summary>Parses one JSON value that must span the whole text.</summary>
        /// <exception cref="FormatException">The text is not well-formed JSON.</exception>
        public static object? Parse(string text)
        {
            var parser = new QemuJson(text);
            parser.SkipSpace();
            object? value = parser.Value(0);
            parser.SkipSpace();
            if (parser._pos != text.Length)
            {
                throw parser.Error("text after the JSON value");
            }

            return value;
        }

        private object? Value(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error("nesting deeper than " + MaxDepth.ToString(CultureInfo.InvariantCulture));
            }

            if (_pos >= _text.Length)
            {
                throw Error("unexpected end");
            }

            char c = _text[_pos];
            switch (c)
            {
                case '{':
                    return Object(depth);
                case '[':
                    return Array(depth);
                case '"':
                    return String();
                case 't':
                    Literal("true");
                    return true;
                case 'f':
                    Literal("false");
                    return false;
                case 'n':
                    Literal("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return Number();
                    }

                    throw Error("unexpected character '" + c + "'");
            }
        }

        private Dictionary<string, object?> Object(int depth)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            _pos++;
            SkipSpace();
            if (Peek() == '}')
            {
                _pos++;
                return result;
            }

            while (true)
            {
                SkipSpace();
                if (Peek() != '"')
                {
                    throw Error("expected a member name");
                }

                string key = String();
                SkipSpace();
                Expect(':');
                SkipSpace();
                result[key] = Value(depth + 1);
                SkipSpace();
                char c = Next();
                if (c == '}')
                {
                    return result;
                }

                if (c != ',')
                {
                    throw Error("expected ',' or '}'");
                }
            }
        }

        private List<object?> Array(int depth)
        {
            var result = new List<object?>();
            _pos++;
            SkipSpace();
            if (Peek() == ']')
            {
                _pos++;
                return result;
            }

            while (true)
            {
                SkipSpace();
                result.Add(Value(depth + 1));
                SkipSpace();
                char c = Next();
                if (c == ']')
                {
                    return result;
                }

                if (c != ',')
                {
                    throw Error("expected ',' or ']'");
                }
            }
        }

        private string String()
        {
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                char c = Next();
                if (c == '"')
                {
                    return sb.ToString();
                }

                if (c < 0x20)
                {
                    throw Error("control character in a string");
                }

                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }

                char e = Next();
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_pos + 4 > _text.Length || !ushort.TryParse(_text.Substring(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code))
                        {
                            throw Error("bad \\u escape");
                        }

                        sb.Append((char)code);
                        _pos += 4;
                        break;
                    default:
                        throw Error("bad escape");
                }
            }
        }

        private object Number()
        {
            int start = _pos;
            if (Peek() == '-')
            {
                _pos++;
            }

            bool isFloat = false;
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c >= '0' && c <= '9')
                {
                    _pos++;
                }
                else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
                {
                    isFloat = true;
                    _pos++;
                }
                else
                {
                    break;
                }
            }

            string s = _text.Substring(start, _pos - start);
            if (!isFloat && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
            {
                return l;
            }

            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
            {
                return d;
            }

            throw Error("bad number '" + s + "'");
        }

        private void Literal(string word)
        {
            if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
            {
                throw Error("unexpected token");
            }

            _pos += word.Length;
        }

        private void SkipSpace()
        {
            while (_pos < _text.Length && (_text[_pos] == ' ' || _text[_pos] == '\t' || _text[_pos] == '\n' || _text[_pos] == '\r'))
            {
                _pos++;
            }
        }

        private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

        private char Next() => _pos < _text.Length ? _text[_pos++] : throw Error("unexpected end");

        private void Expect(char c)
        {
            if (Next() != c)
            {
                throw Error("expected '" + c + "'");
            }
        }

        private FormatException Error(string what) =>
            new FormatException(string.Format(CultureInfo.InvariantCulture, "Malformed JSON at character {0}: {1}.", _pos, what));
    }
}
