using System;

namespace XenMigration.Qemu
{
    /// <summary>Kinds of top-level records in a QEMU migration stream (docs/formats §8.3).</summary>
    public enum QemuSectionKind
    {
        /// <summary>SECTION_START (0x01): first chunk of an iterative section (RAM).</summary>
        Start = 0x01,
        /// <summary>SECTION_PART (0x02): a middle chunk of an iterative section.</summary>
        Part = 0x02,
        /// <summary>SECTION_END (0x03): last chunk of an iterative section.</summary>
        End = 0x03,
        /// <summary>SECTION_FULL (0x04): the whole state of a device.</summary>
        Full = 0x04,
    }

    /// <summary>How a section's fields were found.</summary>
    public enum QemuDecodeSource
    {
        /// <summary>Not decoded: the body is given raw (offset and length).</summary>
        None = 0,
        /// <summary>From the stream's own JSON description (VMDESCRIPTION).</summary>
        Description,
        /// <summary>From the module's built-in table of QEMU 7.2 device descriptions.</summary>
        BuiltIn,
        /// <summary>A RAM section, decoded by the RAM record rules.</summary>
        Ram,
    }

    /// <summary>Constants of the QEMU savevm stream and the libvirt save header (docs/formats §8.1-§8.11).</summary>
    internal static class QemuFormat
    {
        public const uint Magic = 0x5145564D;          // "QEVM"
        public const uint Version = 3;
        public const uint VersionCompat = 2;

        public const byte Eof = 0x00;
        public const byte SectionStart = 0x01;
        public const byte SectionPart = 0x02;
        public const byte SectionEnd = 0x03;
        public const byte SectionFull = 0x04;
        public const byte Subsection = 0x05;
        public const byte VmDescription = 0x06;
        public const byte Configuration = 0x07;
        public const byte Command = 0x08;
        public const byte SectionFooter = 0x7E;

        // RAM record flags: the low bits of each record's be64 header (§8.8).
        public const ulong RamFull = 0x01;
        public const ulong RamZero = 0x02;
        public const ulong RamMemSize = 0x04;
        public const ulong RamPage = 0x08;
        public const ulong RamEos = 0x10;
        public const ulong RamContinue = 0x20;
        public const ulong RamXbzrle = 0x40;
        public const ulong RamHook = 0x80;
        public const ulong RamCompressPage = 0x100;
        public const ulong RamMultifdFlush = 0x200;
        public const ulong RamFlagMask = 0xFFF;
        public const int TargetPageSize = 4096;



        /// <summary>Whether an input starts like a QEMU migration stream ("QEVM", or a prefix of it).</summary>
        public static bool Probe(ReadOnlySpan<byte> head) => Framing.FormatDetector.MatchesMagic(head, "QEVM");

        public static string CommandName(ushort command) => command switch
        {
            0 => "INVALID",
            1 => "OPEN_RETURN_PATH",
            2 => "PING",
            3 => "POSTCOPY_ADVISE",
            4 => "POSTCOPY_LISTEN",
            5 => "POSTCOPY_RUN",
            6 => "POSTCOPY_RAM_DISCARD",
            7 => "PACKAGED",
            8 => "ENABLE_COLO",
            9 => "POSTCOPY_RESUME",
            10 => "RECV_BITMAP",
            11 => "SWITCHOVER_START",
            _ => "UNKNOWN",
        };

        public static bool IsPrintableName(ReadOnlySpan<byte> name)
        {
            foreach (byte b in name)
            {
                if (b < 0x20 || b > 0x7E)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
