using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace XenMigration.Framing
{
    /// <summary>
    /// A small strict JSON parser (QEMU's VM descriptions, xl's domain configurations): objects become dictionaries, arrays lists,
    /// numbers long (or double). A dependency-free parser keeps the module one DLL that loads in both
    /// Windows PowerShell 5.1 and PowerShell 7 without assembly-version conflicts. Nesting is capped.
    /// </summary>
    /// <remarks>
    /// Memory stays a small multiple of the text: objects are lists of members (not hash tables),
    /// member names and type names QEMU writes are shared strings, and every value is charged what it
    /// costs in memory against a budget of <see cref="BytesPerChar"/> bytes per character of text
    /// (QEMU's own descriptions cost 2 to 3), so a description made of tiny values is refused rather
    /// than turned into millions of objects.
    /// </remarks>
    internal sealed class JsonText
    {
        private const int MaxDepth = Limits.MaxJsonDepth;

        /// <summary>The memory the parsed values may cost, per character of text (plus a margin).</summary>
        public const int BytesPerChar = 5;

        // What the parsed values cost on a 64-bit runtime (headers, fields, list slots), roughly.
        private const int ObjectCost = 32, MemberCost = 40, ArrayCost = 48, ElementCost = 8, StringCost = 32, BoxCost = 24;

        // Names QEMU writes over and over: shared, not allocated per occurrence.
        private static readonly string[] s_shared =
        {
            "name", "type", "size", "array_len", "index", "version", "fields", "subsections", "struct", "vmsd_name",
            "instance_id", "devices", "page_size", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
            "int64", "bool", "buffer", "unused_buffer", "bitmap", "timer", "uint32 as uint16", "int32 equal",
            "int32 le", "uint8 equal", "uint16 equal", "uint32 equal", "uint64 equal", "float64", "cpu_common",
            "parent_obj", "tmp", "unknown",
        };

        private static readonly object s_true = true, s_false = false;

        private readonly string _text;
        private long _budget;
        private int _pos;

        private JsonText(string text)
        {
            _text = text;
            _budget = 65536 + ((long)BytesPerChar * text.Length);
        }

        /// <summary>Parses one JSON value that must span the whole text.</summary>
        /// <exception cref="FormatException">The text is not well-formed JSON, or is denser than a QEMU description can be.</exception>
        public static object? Parse(string text)
        {
            var parser = new JsonText(text);
            parser.SkipSpace();
            object? value = parser.Value(0);
            parser.SkipSpace();
            if (parser._pos != text.Length)
            {
                throw parser.Error("text after the JSON value");
            }

            return value;
        }

        private void Charge(long bytes)
        {
            _budget -= bytes;
            if (_budget < 0)
            {
                throw Error(string.Format(CultureInfo.InvariantCulture, "more values than a description of {0} characters can hold (they would take over {1} bytes per character)", _text.Length, BytesPerChar));
            }
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
                    return s_true;
                case 'f':
                    Literal("false");
                    return s_false;
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

        private JsonObject Object(int depth)
        {
            Charge(ObjectCost);
            var result = new JsonObject();
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
                Charge(MemberCost);
                SkipSpace();
                Expect(':');
                SkipSpace();
                result.Set(key, Value(depth + 1));
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
            Charge(ArrayCost);
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
                Charge(ElementCost);
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
            // Most strings have no escapes: taken from the text in one piece, or shared.
            int end = _pos;
            while (end < _text.Length && _text[end] != '"' && _text[end] != '\\' && _text[end] >= 0x20)
            {
                end++;
            }

            if (end < _text.Length && _text[end] == '"')
            {
                int length = end - _pos;
                int start = _pos;
                _pos = end + 1;
                foreach (string known in s_shared)
                {
                    if (known.Length == length && string.CompareOrdinal(_text, start, known, 0, length) == 0)
                    {
                        return known;
                    }
                }

                Charge(StringCost + (2L * length));
                return _text.Substring(start, length);
            }

            var sb = new StringBuilder();
            while (true)
            {
                char c = Next();
                if (c == '"')
                {
                    Charge(StringCost + (2L * sb.Length));
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
            Charge(BoxCost);
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

    /// <summary>A JSON object: its members in order, looked up by name (descriptions have a few per object).</summary>
    internal sealed class JsonObject
    {
        private List<KeyValuePair<string, object?>>? _members;   // null for {} (no list for an empty object)

        public object? this[string key] => TryGetValue(key, out object? value) ? value : throw new KeyNotFoundException(key);

        public bool ContainsKey(string key) => TryGetValue(key, out _);

        /// <summary>The members in order.</summary>
        public IEnumerable<KeyValuePair<string, object?>> Members => (IEnumerable<KeyValuePair<string, object?>>?)_members ?? Array.Empty<KeyValuePair<string, object?>>();

        public bool TryGetValue(string key, out object? value)
        {
            if (_members is null)
            {
                value = null;
                return false;
            }

            foreach (KeyValuePair<string, object?> m in _members)
            {
                if (string.Equals(m.Key, key, StringComparison.Ordinal))
                {
                    value = m.Value;
                    return true;
                }
            }

            value = null;
            return false;
        }

        // A repeated name keeps the last value, as a dictionary would.
        internal void Set(string key, object? value)
        {
            _members ??= new List<KeyValuePair<string, object?>>(4);
            for (int i = 0; i < _members.Count; i++)
            {
                if (string.Equals(_members[i].Key, key, StringComparison.Ordinal))
                {
                    _members[i] = new KeyValuePair<string, object?>(key, value);
                    return;
                }
            }

            _members.Add(new KeyValuePair<string, object?>(key, value));
        }
    }
}
