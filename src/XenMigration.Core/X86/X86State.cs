using System.Collections.Generic;
using System.Globalization;

namespace XenMigration.X86
{
    /// <summary>An MSR and its value: of an HVM CPU_MSR entry or a PV vCPU's MSR record.</summary>
    public sealed class X86Msr
    {
        internal X86Msr(uint index, uint reserved, ulong value) { Index = index; Reserved = reserved; Value = value; }

        /// <summary>MSR index.</summary>
        public uint Index { get; }
        /// <summary>Architectural name (SPEC_CTRL, XSS, ...).</summary>
        public string Name => X86Names.MsrName(Index);
        /// <summary>Reserved (must be 0).</summary>
        public uint Reserved { get; }
        /// <summary>Value.</summary>
        public ulong Value { get; set; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}=0x{1:x}", Name, Value);
    }

    /// <summary>An XSAVE state component.</summary>
    public sealed class X86XsaveComponent
    {
        internal X86XsaveComponent(int bit, bool enabled, bool present) { Bit = bit; Enabled = enabled; Present = present; }

        /// <summary>Component number (XCR0 bit).</summary>
        public int Bit { get; }
        /// <summary>x87, SSE, AVX, MPX_BNDREGS, ..., PKRU.</summary>
        public string Name => X86Names.XsaveComponentName(Bit);
        /// <summary>Enabled in XCR0 (or ever enabled, XCR0_ACCUM).</summary>
        public bool Enabled { get; }
        /// <summary>Holds non-initial state (XSTATE_BV bit).</summary>
        public bool Present { get; }

        /// <inheritdoc/>
        public override string ToString() => Name + (Present ? " (state)" : string.Empty);
    }

    /// <summary>Decodes XCR0 / XSTATE_BV pairs into components, for CPU_XSAVE and PV XSAVE records.</summary>
    internal static class X86Xsave
    {
        public static IReadOnlyList<X86XsaveComponent> Components(ulong xcr0, ulong xcr0Accum, ulong xstateBv)
        {
            var components = new List<X86XsaveComponent>();
            for (int bit = 0; bit < 64; bit++)
            {
                ulong m = 1UL << bit;
                if (((xcr0Accum | xcr0) & m) != 0)
                {
                    components.Add(new X86XsaveComponent(bit, (xcr0 & m) != 0, (xstateBv & m) != 0));
                }
            }

            return components;
        }
    }
}
