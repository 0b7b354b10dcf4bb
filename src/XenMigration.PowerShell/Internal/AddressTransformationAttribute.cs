using System;
using System.Globalization;
using System.Management.Automation;

namespace XenMigration.Commands
{
    /// <summary>
    /// Lets an address be typed as PowerShell writes hex: <c>0xfffffff0</c> is the Int32 -16 to
    /// PowerShell, and <c>0xffffffffffff0000</c> a negative Int64. A negative number is never an
    /// address, so it is read as the bit pattern it was typed as; strings may be "0x..." hex.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    internal sealed class AddressTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (value)
            {
                case int i when i < 0:
                    return (ulong)unchecked((uint)i);
                case long l when l < 0:
                    return unchecked((ulong)l);
                case string s when s.StartsWith("0x", StringComparison.OrdinalIgnoreCase):
                    if (ulong.TryParse(s.Substring(2).Replace("_", string.Empty), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex))
                    {
                        return hex;
                    }

                    throw new ArgumentTransformationMetadataException("'" + s + "' is not a hexadecimal address.");
                case string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) && n < 0:
                    // "-Address -16" arrives as text: read it as the number it would have been typed as.
                    return n >= int.MinValue ? (ulong)unchecked((uint)(int)n) : unchecked((ulong)n);
                default:
                    return inputData;
            }
        }
    }
}
