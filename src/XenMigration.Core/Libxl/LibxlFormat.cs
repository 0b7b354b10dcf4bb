using System;
using System.Collections.Generic;
using XenMigration.Framing;
using XenMigration.Records;

namespace XenMigration.Libxl
{
    /// <summary>Emulator ids of the libxl emulator sub-header (docs/formats §2.3).</summary>
    public enum EmulatorKind : uint
    {
        /// <summary>Unknown: written by Xen's legacy-stream converter.</summary>
        Unknown = 0,
        /// <summary>QEMU traditional (support dropped in Xen 4.21).</summary>
        QemuTraditional = 1,
        /// <summary>QEMU upstream: the only id libxl writes today.</summary>
        QemuUpstream = 2,
    }

    /// <summary>CHECKPOINT_STATE control ids (COLO back channel).</summary>
    public enum CheckpointControl : uint
    {
        /// <summary>Primary to secondary: start a new checkpoint.</summary>
        New = 0,
        /// <summary>Secondary: VM suspended.</summary>
        SvmSuspended = 1,
        /// <summary>Secondary: ready.</summary>
        SvmReady = 2,
        /// <summary>Secondary: VM resumed.</summary>
        SvmResumed = 3,
    }

    /// <summary>Constants, names and body encoders of the libxl v2 stream (docs/formats §2).</summary>
    internal static class LibxlFormat
    {
        /// <summary>"LibxlFmt" as a big-endian u64.</summary>
        public const ulong Ident = 0x4C6962786C466D74;
        /// <summary>The only libxl stream version.</summary>
        public const uint Version = 2;
        /// <summary>Header size.</summary>
        public const int HeaderSize = 16;
        /// <summary>Options bit 0: the rest of the stream is big-endian.</summary>
        public const uint OptionBigEndian = 0x1;
        /// <summary>Options bit 1: produced by the legacy converter.</summary>
        public const uint OptionLegacy = 0x2;

        /// <summary>END.</summary>
        public const uint End = 0x0;
        /// <summary>LIBXC_CONTEXT.</summary>
        public const uint LibxcContext = 0x1;
        /// <summary>EMULATOR_XENSTORE_DATA.</summary>
        public const uint EmulatorXenstoreData = 0x2;
        /// <summary>EMULATOR_CONTEXT.</summary>
        public const uint EmulatorContext = 0x3;
        /// <summary>CHECKPOINT_END.</summary>
        public const uint CheckpointEnd = 0x4;
        /// <summary>CHECKPOINT_STATE.</summary>
        public const uint CheckpointState = 0x5;

        /// <summary>Size of the emulator sub-header of EMULATOR_* records.</summary>
        public const int EmulatorHeaderSize = 8;

        /// <summary>Whether an input starts like a bare libxl stream ("LibxlFmt", or a prefix of it).</summary>
        internal static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, "LibxlFmt");

        /// <summary>The record type a libxl type code means, or <see cref="XenRecordType.Unknown"/>.</summary>
        public static XenRecordType TypeOf(uint code) => code switch
        {
            End => XenRecordType.End,
            LibxcContext => XenRecordType.LibxcContext,
            EmulatorXenstoreData => XenRecordType.EmulatorXenstoreData,
            EmulatorContext => XenRecordType.EmulatorContext,
            CheckpointEnd => XenRecordType.CheckpointEnd,
            CheckpointState => XenRecordType.CheckpointState,
            _ => XenRecordType.Unknown,
        };

        /// <summary>Xen's name of a libxl type code (as used in messages).</summary>
        public static string NameOf(uint code) => code switch
        {
            End => "END",
            LibxcContext => "LIBXC_CONTEXT",
            EmulatorXenstoreData => "EMULATOR_XENSTORE_DATA",
            EmulatorContext => "EMULATOR_CONTEXT",
            CheckpointEnd => "CHECKPOINT_END",
            CheckpointState => "CHECKPOINT_STATE",
            _ => "libxl record type 0x" + code.ToString("X8", System.Globalization.CultureInfo.InvariantCulture),
        };

        /// <summary>Encodes the 16-byte header (always big-endian).</summary>
        internal static byte[] EncodeHeader(uint options = 0, uint version = Version) =>
            new ByteBuilder(HeaderSize, bigEndian: true).U64(Ident).U32(version).U32(options).ToArray();

        /// <summary>Encodes an EMULATOR_XENSTORE_DATA body: sub-header then <c>key\0value\0</c> pairs.</summary>
        internal static byte[] EncodeXenstoreData(EmulatorKind emulator, uint index, IEnumerable<KeyValuePair<string, string>> pairs)
        {
            var b = new ByteBuilder().U32((uint)emulator).U32(index);
            foreach (KeyValuePair<string, string> pair in pairs)
            {
                b.Text(pair.Key, nulTerminate: true).Text(pair.Value, nulTerminate: true);
            }

            return b.ToArray();
        }

        /// <summary>Encodes the 8-byte emulator sub-header that starts an EMULATOR_CONTEXT body.</summary>
        internal static byte[] EncodeEmulatorHeader(EmulatorKind emulator, uint index) =>
            new ByteBuilder(EmulatorHeaderSize).U32((uint)emulator).U32(index).ToArray();

        /// <summary>Encodes a CHECKPOINT_STATE body as libxl does (length 4).</summary>
        internal static byte[] EncodeCheckpointState(CheckpointControl control) =>
            new ByteBuilder(4).U32((uint)control).ToArray();
    }
}
