using System;
using System.Collections.Generic;
using System.Text;
using XenMigration.Framing;

namespace XenMigration.Libxl
{
    /// <summary>
    /// Decodes the NUL-separated key/value pairs of EMULATOR_XENSTORE_DATA as the body streams past,
    /// keeping at most <see cref="Limits.MaxRetainedEntries"/> pairs and
    /// <see cref="MaxTokenBytes"/> bytes of any key or value: a 128 MiB body of NULs (67 million
    /// empty pairs) costs the same memory as a real one. Keys and values are checked byte by byte
    /// (the rules of <see cref="IsKeyByte"/> and <see cref="IsValueByte"/>) for every pair.
    /// </summary>
    internal sealed class XenstoreDataDecoder
    {
        /// <summary>Longest key or value kept (xenstore's own limits are 3072 and 4096 bytes).</summary>
        public const int MaxTokenBytes = Limits.MaxXenstoreToken;

        private readonly int _maxPairs;
        private readonly List<XenstoreKeyValue> _kept = new List<XenstoreKeyValue>();
        private readonly byte[] _token = new byte[MaxTokenBytes];
        private int _tokenLength;
        private long _tokenTotal;
        private bool _tokenBad;
        private bool _keyStartsWithSlash;
        private bool _inValue;
        private string _key = string.Empty;
        private bool _keyBad;
        private bool _keyOdd;
        private long _pairOffset;
        private long _position;

        public XenstoreDataDecoder(int maxPairs) => _maxPairs = maxPairs;

        public IReadOnlyList<XenstoreKeyValue> Kept => _kept;

        public long PairCount { get; private set; }

        /// <summary>Body offsets (from the start of the key/value data) of unkept pairs with a bad key.</summary>
        public EntryTally UnkeptBadKeys { get; } = new EntryTally();

        /// <summary>Body offsets of unkept pairs whose key has characters xenstore does not take.</summary>
        public EntryTally UnkeptOddKeys { get; } = new EntryTally();

        /// <summary>Body offsets of unkept pairs with a bad value.</summary>
        public EntryTally UnkeptBadValues { get; } = new EntryTally();

        /// <summary>Whether the data ended right after a value's NUL (or was empty).</summary>
        public bool IsNulTerminated => !_inValue && _tokenTotal == 0;

        /// <summary>Key characters xenstore accepts: ASCII letters, digits and -/_@.</summary>
        public static bool IsKeyByte(byte c) => c < 0x80 && Xenstore.XenstoreFormat.IsPathChar((char)c);

        /// <summary>Value characters: printable ASCII.</summary>
        public static bool IsValueByte(byte c) => c >= 0x20 && c <= 0x7E;

        public void Feed(ReadOnlySpan<byte> data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                byte b = data[i];
                if (b == 0)
                {
                    EndToken();
                }
                else
                {
                    if (_tokenTotal == 0 && !_inValue)
                    {
                        _keyStartsWithSlash = b == (byte)'/';
                    }

                    if (!(_inValue ? IsValueByte(b) : IsKeyByte(b)))
                    {
                        _tokenBad = true;
                    }

                    if (_tokenLength < MaxTokenBytes)
                    {
                        _token[_tokenLength++] = b;
                    }

                    _tokenTotal++;
                }

                _position++;
            }
        }

        /// <summary>Ends the data: an unterminated key or value becomes a last pair, as before.</summary>
        public void Complete()
        {
            if (_inValue)
            {
                AddPair(_key, _keyBad, _keyOdd, Text(), _tokenBad);
            }
            else if (_tokenTotal > 0)
            {
                AddPair(Text(), _keyStartsWithSlash, _tokenBad, string.Empty, false);
            }
        }

        private void EndToken()
        {
            if (!_inValue)
            {
                _key = Text();
                _keyBad = _tokenTotal == 0 || _keyStartsWithSlash;
                _keyOdd = _tokenBad;
                _inValue = true;
            }
            else
            {
                AddPair(_key, _keyBad, _keyOdd, Text(), _tokenBad);
                _inValue = false;
                _pairOffset = _position + 1;
            }

            _tokenLength = 0;
            _tokenTotal = 0;
            _tokenBad = false;
        }

        private void AddPair(string key, bool keyBad, bool keyOdd, string value, bool valueBad)
        {
            long index = PairCount++;
            if (index < _maxPairs)
            {
                _kept.Add(new XenstoreKeyValue(key, value));
                return;
            }

            if (keyBad)
            {
                UnkeptBadKeys.Add(_pairOffset);
            }
            else if (keyOdd)
            {
                UnkeptOddKeys.Add(_pairOffset);
            }

            if (valueBad)
            {
                UnkeptBadValues.Add(_pairOffset);
            }
        }

        // Only kept pairs need their text; for the others it is not built.
        private string Text() => PairCount < _maxPairs ? Encoding.UTF8.GetString(_token, 0, _tokenLength) : string.Empty;
    }
}
