using System;
using XenMigration.Framing;

namespace XenMigration.XenServer
{
    /// <summary>Record types of a XenServer/XCP-ng suspend image (xen-api ocaml/xenopsd/lib/suspend_image.ml).</summary>
    public enum XenServerRecordKind : ulong
    {
        /// <summary>0x000f: xenopsd's own record, an S-expression with the time, word size and the VM record.</summary>
        Xenops = 0x000F,
        /// <summary>0x00f0: a libxc v2 stream follows.</summary>
        Libxc = 0x00F0,
        /// <summary>0x00f1: a libxl stream follows.</summary>
        Libxl = 0x00F1,
        /// <summary>0x00f2: a legacy (before Xen 4.5) libxc stream with its QEMU record follows.</summary>
        LibxcLegacy = 0x00F2,
        /// <summary>0x0f00: QEMU traditional's device state.</summary>
        QemuTrad = 0x0F00,
        /// <summary>0x0f01: upstream QEMU's device state (a QEVM stream).</summary>
        QemuXen = 0x0F01,
        /// <summary>0x0f10: vGPU (demu) state.</summary>
        Demu = 0x0F10,
        /// <summary>0x0f11: varstored's UEFI variables.</summary>
        Varstored = 0x0F11,
        /// <summary>0x0f12: swtpm state, first version.</summary>
        Swtpm0 = 0x0F12,
        /// <summary>0x0f13: swtpm (virtual TPM) state.</summary>
        Swtpm = 0x0F13,
        /// <summary>0xffff: the end of the image.</summary>
        EndOfImage = 0xFFFF,
    }

    /// <summary>Constants of XenServer/XCP-ng suspend images (docs/formats/containers.md §10).</summary>
    internal static class XenServerFormat
    {
        public const string Signature = "XenSavedDomv2-\n";
        public const string LegacySignature = "XenSavedDomain\n";
        public const int SignatureLength = 15;
        public const int HeaderSize = 16;   // u64 type, u64 length, little-endian

        /// <summary>xenopsd refuses a Qemu_trad record over 1 MiB.</summary>
        public const long MaxQemuTrad = 1 << 20;

        /// <summary>The Xenops record's cap here (its VM record is a few KiB).</summary>
        public const long MaxXenopsRecord = 16 << 20;

        public static bool Probe(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, Signature);

        public static bool ProbeLegacy(ReadOnlySpan<byte> head) => FormatDetector.MatchesMagic(head, LegacySignature);

        public static bool IsKnown(ulong type) => Enum.IsDefined(typeof(XenServerRecordKind), type);
    }
}
