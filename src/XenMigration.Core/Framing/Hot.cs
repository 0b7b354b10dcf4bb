using System.Runtime.CompilerServices;

namespace XenMigration.Framing
{
    /// <summary>
    /// MethodImplOptions.AggressiveOptimization (512), which netstandard2.0 does not name: the JIT
    /// compiles such a method fully optimized at once instead of starting with tier-0 code. Used on
    /// the few loops that run once per page entry, where a fresh PowerShell session would otherwise
    /// spend its first verifications in unoptimized code. .NET Framework ignores the flag.
    /// </summary>
    internal static class Hot
    {
        public const MethodImplOptions Optimize = (MethodImplOptions)512;
    }
}
