using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;

namespace XenMigration.HvmContext
{
    /// <summary>Whether an HVM context entry is saved once per domain or once per vCPU.</summary>
    internal enum HvmEntryScope
    {
        /// <summary>One entry for the domain (instance 0; PIC has 0 and 1).</summary>
        Domain,
        /// <summary>One entry per vCPU, instance = vCPU id.</summary>
        Vcpu,
    }

    /// <summary>How Xen's loader checks an entry's length (docs/formats §6.2).</summary>
    internal enum HvmLengthRule
    {
        /// <summary>Exactly the payload size.</summary>
        Strict,
        /// <summary>At most the payload size (older, shorter layouts are zero-extended).</summary>
        AtMost,
        /// <summary>The entry's own rule (CPU_XSAVE, CPU_MSR).</summary>
        Custom,
    }

    /// <summary>One typecode of the HVM context (docs/formats §6.2).</summary>
    internal sealed class HvmTypeInfo
    {
        internal HvmTypeInfo(ushort code, string name, HvmEntryScope scope, int size, HvmLengthRule rule, int[]? olderSizes = null, ushort maxDomainInstance = 0)
        {
            MaxDomainInstance = maxDomainInstance;
            Code = code;
            Name = name;
            Scope = scope;
            Size = size;
            Rule = rule;
            OlderSizes = olderSizes is null ? System.Array.Empty<int>() : ReadOnlyView.Of(olderSizes);
            LengthRuleText = rule switch
            {
                HvmLengthRule.Strict => string.Format(CultureInfo.InvariantCulture, "must be exactly {0} bytes", size),
                HvmLengthRule.AtMost => string.Format(CultureInfo.InvariantCulture, "must be 1 to {0} bytes", size),
                _ => string.Empty,
            };
        }

        /// <summary>Highest instance of a per-domain entry (PIC has two: master 0 and slave 1).</summary>
        public ushort MaxDomainInstance { get; }

        // The Strict/AtMost rule in words, made once rather than per entry checked.
        internal string LengthRuleText { get; }

        /// <summary>Typecode.</summary>
        public ushort Code { get; }
        /// <summary>Xen's name (HVM_SAVE_CODE).</summary>
        public string Name { get; }
        /// <summary>Per domain or per vCPU.</summary>
        public HvmEntryScope Scope { get; }
        /// <summary>Current payload size (minimum for custom rules).</summary>
        public int Size { get; }
        /// <summary>Length rule on load.</summary>
        public HvmLengthRule Rule { get; }
        /// <summary>Sizes of older layouts that the loader still accepts.</summary>
        public IReadOnlyList<int> OlderSizes { get; }
    }

    /// <summary>Constants and the typecode table of the Xen HVM context blob (docs/formats §6).</summary>
    internal static class HvmContextFormat
    {
        /// <summary>Descriptor size: u16 typecode, u16 instance, u32 length.</summary>
        public const int DescriptorSize = 8;
        /// <summary>HEADER magic.</summary>
        public const uint HeaderMagic = 0x54381286;
        /// <summary>HEADER version.</summary>
        public const uint HeaderVersion = 1;
        /// <summary>END typecode.</summary>
        public const ushort EndCode = 0;
        /// <summary>HEADER typecode.</summary>
        public const ushort HeaderCode = 1;
        /// <summary>Largest typecode Xen defines on x86.</summary>
        public const ushort MaxKnownCode = 20;
        /// <summary>XSAVE: 24 bytes of masks, then at least the legacy area and XSAVE header.</summary>
        public const int XsaveMinimum = 24 + 512 + 64;

        private static readonly HvmTypeInfo?[] s_types =
        {
            new HvmTypeInfo(0, "END", HvmEntryScope.Domain, 0, HvmLengthRule.Strict),
            new HvmTypeInfo(1, "HEADER", HvmEntryScope.Domain, 24, HvmLengthRule.Strict),
            new HvmTypeInfo(2, "CPU", HvmEntryScope.Vcpu, 1032, HvmLengthRule.AtMost, new[] { 1016 }),
            new HvmTypeInfo(3, "PIC", HvmEntryScope.Domain, 8, HvmLengthRule.Strict, maxDomainInstance: 1),   // master and slave
            new HvmTypeInfo(4, "IOAPIC", HvmEntryScope.Domain, 400, HvmLengthRule.Strict),
            new HvmTypeInfo(5, "LAPIC", HvmEntryScope.Vcpu, 32, HvmLengthRule.AtMost, new[] { 24 }),
            new HvmTypeInfo(6, "LAPIC_REGS", HvmEntryScope.Vcpu, 1024, HvmLengthRule.Strict),
            new HvmTypeInfo(7, "PCI_IRQ", HvmEntryScope.Domain, 16, HvmLengthRule.Strict),
            new HvmTypeInfo(8, "ISA_IRQ", HvmEntryScope.Domain, 8, HvmLengthRule.Strict),
            new HvmTypeInfo(9, "PCI_LINK", HvmEntryScope.Domain, 8, HvmLengthRule.Strict),
            new HvmTypeInfo(10, "PIT", HvmEntryScope.Domain, 56, HvmLengthRule.Strict),
            new HvmTypeInfo(11, "RTC", HvmEntryScope.Domain, 24, HvmLengthRule.AtMost, new[] { 16 }),
            new HvmTypeInfo(12, "HPET", HvmEntryScope.Domain, 1048, HvmLengthRule.Strict),
            new HvmTypeInfo(13, "PMTIMER", HvmEntryScope.Domain, 8, HvmLengthRule.Strict),
            new HvmTypeInfo(14, "MTRR", HvmEntryScope.Vcpu, 240, HvmLengthRule.Strict),
            new HvmTypeInfo(15, "VIRIDIAN_DOMAIN", HvmEntryScope.Domain, 32, HvmLengthRule.AtMost),
            new HvmTypeInfo(16, "CPU_XSAVE", HvmEntryScope.Vcpu, XsaveMinimum, HvmLengthRule.Custom),
            new HvmTypeInfo(17, "VIRIDIAN_VCPU", HvmEntryScope.Vcpu, 216, HvmLengthRule.AtMost),
            new HvmTypeInfo(18, "VMCE_VCPU", HvmEntryScope.Vcpu, 32, HvmLengthRule.AtMost),
            new HvmTypeInfo(19, "TSC_ADJUST", HvmEntryScope.Vcpu, 8, HvmLengthRule.Strict),
            new HvmTypeInfo(20, "CPU_MSR", HvmEntryScope.Vcpu, 24, HvmLengthRule.Custom),
        };

        /// <summary>The typecode's description, or null when Xen does not define it.</summary>
        public static HvmTypeInfo? TypeOf(ushort code) => code < s_types.Length ? s_types[code] : null;

        /// <summary>Xen's name of a typecode, or "TYPE_n".</summary>
        public static string NameOf(ushort code) => TypeOf(code)?.Name ?? "TYPE_" + code.ToString(CultureInfo.InvariantCulture);
    }
}
