namespace XenMigration.Framing
{
    /// <summary>
    /// The framing shared by the libxl, libxc and xenstore streams: a u32 type, a u32 body length,
    /// the body, then zero padding to the next multiple of 8 bytes.
    /// </summary>
    internal readonly struct RecordFrame
    {
        public const int HeaderSize = 8;
        public const int Alignment = 8;

        public RecordFrame(long offset, uint type, uint length)
        {
            Offset = offset;
            Type = type;
            Length = length;
        }

        /// <summary>Offset of the type field.</summary>
        public long Offset { get; }

        public uint Type { get; }

        /// <summary>Body length, padding excluded.</summary>
        public uint Length { get; }

        public long BodyOffset => Offset + HeaderSize;

        public long BodyEnd => BodyOffset + Length;

        public int PaddingLength => PaddingFor(Length);

        /// <summary>Offset just past the padding: where the next record starts.</summary>
        public long End => BodyEnd + PaddingLength;

        public static int PaddingFor(long length) => (int)((Alignment - (length % Alignment)) % Alignment);

        public static long PaddedLength(long length) => checked(length + PaddingFor(length));
    }
}
