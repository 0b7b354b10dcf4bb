// netstandard2.0 lacks this compiler-recognised attribute; declaring it internally lets the module
// register its formats with the detector when it loads (Images/FormatRegistry). The CLR runs module
// initializers on .NET Framework as on .NET.
#pragma warning disable CS1591
namespace System.Runtime.CompilerServices
{
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    internal sealed class ModuleInitializerAttribute : Attribute { }
}
