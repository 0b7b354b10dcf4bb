using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using XenMigration.HvmContext;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Records;

namespace XenMigration.Commands
{
    /// <summary>
    /// The names an enum parameter accepts: the enum's own names, the names Xen's specifications use
    /// (<c>PAGE_DATA</c>, <c>X86_PV_INFO</c>, <c>LAPIC_REGS</c>), and wildcards over both
    /// (<c>PvVcpu*</c>, <c>*_POLICY</c>), as <c>Get-QemuDeviceState -Name</c> takes wildcards.
    /// </summary>
    internal static class EnumNames
    {
        private static readonly Dictionary<Type, string[]> s_specNames = new Dictionary<Type, string[]>
        {
            [typeof(XenRecordType)] = Enumerable.Range(0, 0x13).Select(c => LibxcFormat.NameOf((uint)c))
                .Concat(Enumerable.Range(0, 6).Select(c => LibxlFormat.NameOf((uint)c))).Distinct().ToArray(),
            [typeof(HvmTypeCode)] = Enumerable.Range(0, 21).Select(c => HvmContextFormat.NameOf((ushort)c)).ToArray(),
        };

        /// <summary>The enum values of names produced by <see cref="EnumArgumentAttribute"/>.</summary>
        public static T[] Parse<T>(IEnumerable<string> names)
            where T : struct => names.Select(n => (T)Enum.Parse(typeof(T), n, ignoreCase: true)).ToArray();

        /// <summary>The spec names of an enum value (those whose letters, without underscores and "X86", are its name's).</summary>
        public static IEnumerable<string> SpecNames(Type enumType, string name) =>
            s_specNames.TryGetValue(enumType, out string[]? names) ? names.Where(s => Norm(s) == Norm(name)) : Enumerable.Empty<string>();

        public static IEnumerable<string> AllNames(Type enumType) =>
            Enum.GetNames(enumType).SelectMany(n => new[] { n }.Concat(SpecNames(enumType, n))).Distinct(StringComparer.OrdinalIgnoreCase);

        /// <summary>The enum values a typed word means; an error that lists the names when it means none.</summary>
        public static IEnumerable<object> Resolve(Type enumType, string word)
        {
            string[] names = Enum.GetNames(enumType);
            IEnumerable<string> matches;
            if (WildcardPattern.ContainsWildcardCharacters(word))
            {
                var pattern = new WildcardPattern(word, WildcardOptions.IgnoreCase);
                matches = names.Where(n => pattern.IsMatch(n) || SpecNames(enumType, n).Any(pattern.IsMatch)).ToList();
            }
            else
            {
                matches = names.Where(n => string.Equals(n, word, StringComparison.OrdinalIgnoreCase) || Norm(n) == Norm(word)).Take(1).ToList();
            }

            if (!matches.Any())
            {
                throw new ArgumentTransformationMetadataException(string.Format(
                    CultureInfo.InvariantCulture,
                    "'{0}' is not a {1}. Use one of: {2} (or the specification's names, such as {3}; wildcards work).",
                    word,
                    enumType.Name,
                    string.Join(", ", names),
                    string.Join(", ", AllNames(enumType).Where(n => n.Contains("_")).Take(3).DefaultIfEmpty("none"))));
            }

            return matches.Select(n => Enum.Parse(enumType, n));
        }

        private static string Norm(string s)
        {
            string n = s.Replace("_", string.Empty).ToUpperInvariant();
            return n.StartsWith("X86", StringComparison.Ordinal) ? n.Substring(3) : n;
        }
    }

    /// <summary>
    /// Transforms the words typed for an enum parameter through <see cref="EnumNames"/> into the
    /// enum's names. The parameter is a string array rather than an enum array because PowerShell
    /// completes enum-typed parameters with the enum's names only, ignoring an ArgumentCompleter.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    internal sealed class EnumArgumentAttribute : ArgumentTransformationAttribute
    {
        private readonly Type _enumType;

        public EnumArgumentAttribute(Type enumType) => _enumType = enumType;

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var values = new List<object>();
            foreach (object? item in Items(inputData))
            {
                object? value = item is PSObject pso ? pso.BaseObject : item;
                if (value is string word)
                {
                    values.AddRange(EnumNames.Resolve(_enumType, word));
                }
                else if (value is not null)
                {
                    values.Add(LanguagePrimitives.ConvertTo(value, _enumType, CultureInfo.InvariantCulture));
                }
            }

            return values.Select(v => v.ToString()).Distinct(StringComparer.Ordinal).ToArray();
        }

        private static IEnumerable Items(object input)
        {
            object value = input is PSObject pso ? pso.BaseObject : input;
            return value is IEnumerable e && value is not string ? e : new[] { input };
        }
    }

    /// <summary>Tab completion of enum names and specification names (public: PowerShell creates completers by reflection).</summary>
    public abstract class EnumNameCompleter : IArgumentCompleter
    {
        /// <summary>The enum whose names are offered.</summary>
        protected abstract Type EnumType { get; }

        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
        {
            var pattern = new WildcardPattern((wordToComplete ?? string.Empty).Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return EnumNames.AllNames(EnumType).Where(pattern.IsMatch).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }
    }

    /// <summary>Completes record types: <c>PageData</c> and <c>PAGE_DATA</c>.</summary>
    public sealed class XenRecordTypeCompleter : EnumNameCompleter
    {
        /// <inheritdoc/>
        protected override Type EnumType => typeof(XenRecordType);
    }

    /// <summary>Completes HVM context typecodes: <c>LapicRegs</c> and <c>LAPIC_REGS</c>.</summary>
    public sealed class HvmTypeCodeCompleter : EnumNameCompleter
    {
        /// <inheritdoc/>
        protected override Type EnumType => typeof(HvmTypeCode);
    }

    /// <summary>Completes HVM param names: <c>VIRIDIAN</c>, <c>TIMER_MODE</c>.</summary>
    public sealed class HvmParamNameCompleter : IArgumentCompleter
    {
        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
        {
            var pattern = new WildcardPattern((wordToComplete ?? string.Empty).Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return HvmParamNames.Names.Where(pattern.IsMatch).Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }
    }
}
