using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace XenMigration.Framing
{
    /// <summary>
    /// S-expressions as toolstacks write them: xenopsd's OCaml records (atoms bare or in double
    /// quotes with OCaml escapes) and xend's SXP configs (atoms bare or in single or double quotes,
    /// Python escapes). An atom is a string, a list a List&lt;object&gt;; depth is bounded and the
    /// text is the caller's (already capped) record.
    /// </summary>
    internal static class SExpression
    {
        /// <summary>Parses one expression; trailing blanks are allowed.</summary>
        /// <exception cref="FormatException">The text is not one well-formed expression.</exception>
        public static object Parse(string text)
        {
            int pos = 0;
            object value = Parse(text, ref pos, 0);
            Skip(text, ref pos);
            if (pos != text.Length)
            {
                throw new FormatException("text follows the expression");
            }

            return value;
        }

        /// <summary>The value of the first (key value) pair named <paramref name="key"/> in <paramref name="list"/>, or null.</summary>
        public static string? Value(List<object> list, string key) => Find(list, key) is List<object> { Count: >= 2 } pair && pair[1] is string v ? v : null;

        /// <summary>The first sublist of <paramref name="list"/> whose head atom is <paramref name="key"/>, or null.</summary>
        public static List<object>? Find(List<object> list, string key)
        {
            foreach (object item in list)
            {
                if (item is List<object> { Count: > 0 } sub && sub[0] is string head && head == key)
                {
                    return sub;
                }
            }

            return null;
        }

        /// <summary>Writes <paramref name="value"/> back as text (atoms quoted when they need it).</summary>
        public static string ToText(object value)
        {
            if (value is List<object> list)
            {
                var sb = new StringBuilder("(");
                for (int i = 0; i < list.Count; i++)
                {
                    sb.Append(i == 0 ? string.Empty : " ").Append(ToText(list[i]));
                }

                return sb.Append(')').ToString();
            }

            string atom = (string)value;
            bool plain = atom.Length > 0;
            foreach (char c in atom)
            {
                plain &= !char.IsWhiteSpace(c) && c != '(' && c != ')' && c != '"' && c != '\'' && c != '\\';
            }

            return plain ? atom : "'" + atom.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
        }

        private static object Parse(string t, ref int pos, int depth)
        {
            if (depth > 64)
            {
                throw new FormatException("too deep");
            }

            Skip(t, ref pos);
            if (pos >= t.Length)
            {
                throw new FormatException("unexpected end");
            }

            if (t[pos] == '(')
            {
                pos++;
                var list = new List<object>();
                while (true)
                {
                    Skip(t, ref pos);
                    if (pos >= t.Length)
                    {
                        throw new FormatException("unclosed list");
                    }

                    if (t[pos] == ')')
                    {
                        pos++;
                        return list;
                    }

                    list.Add(Parse(t, ref pos, depth + 1));
                }
            }

            if (t[pos] == '"' || t[pos] == '\'')
            {
                char quote = t[pos++];
                var sb = new StringBuilder();
                while (pos < t.Length && t[pos] != quote)
                {
                    char c = t[pos++];
                    if (c == '\\' && pos < t.Length)
                    {
                        char e = t[pos++];
                        switch (e)
                        {
                            case 'n': sb.Append('\n'); break;
                            case 't': sb.Append('\t'); break;
                            case 'r': sb.Append('\r'); break;
                            case 'b': sb.Append('\b'); break;
                            case '\n':
                                while (pos < t.Length && (t[pos] == ' ' || t[pos] == '\t'))
                                {
                                    pos++;
                                }

                                break;
                            default:
                                if (char.IsDigit(e) && pos + 1 < t.Length && int.TryParse(t.Substring(pos - 1, 3), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code))
                                {
                                    sb.Append((char)code);
                                    pos += 2;
                                }
                                else
                                {
                                    sb.Append(e);
                                }

                                break;
                        }
                    }
                    else
                    {
                        sb.Append(c);
                    }
                }

                if (pos >= t.Length)
                {
                    throw new FormatException("unclosed string");
                }

                pos++;
                return sb.ToString();
            }

            int start = pos;
            while (pos < t.Length && !char.IsWhiteSpace(t[pos]) && t[pos] != '(' && t[pos] != ')' && t[pos] != '"' && t[pos] != '\'')
            {
                pos++;
            }

            return t.Substring(start, pos - start);
        }

        private static void Skip(string t, ref int pos)
        {
            while (pos < t.Length && char.IsWhiteSpace(t[pos]))
            {
                pos++;
            }
        }
    }
}
