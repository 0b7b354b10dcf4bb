using System;
using System.Collections.Generic;

namespace XenMigration.Records
{
    /// <summary>
    /// A wrapper format around a Xen stream (the xl save header; XenServer suspend images and
    /// libvirt's libxl saves fit the same way): it reads its own records, and says when the embedded
    /// libxl or libxc stream starts. The stream reader hands the input back to the container when
    /// the embedded stream ends, for whatever the container has after it.
    /// </summary>
    internal interface IContainerDecoder
    {
        /// <summary>
        /// Reads the container's next record at the reader's position. Returns null when the
        /// container has nothing more here: then <paramref name="embeddedFollows"/> says whether a
        /// Xen stream (libxl or libxc, told apart by its magic) starts at the current position, or
        /// the container (and the input) has ended.
        /// </summary>
        XenStreamRecord? ReadNext(IRecordDecoding decoding, out bool embeddedFollows);
    }

    /// <summary>
    /// The containers the stream reader can open, by the format the detector gives their first
    /// bytes. Filled once at load (Images/FormatRegistry) with the detector's probes.
    /// </summary>
    internal static class ContainerRegistry
    {
        private static readonly Dictionary<DetectedFormat, Func<IContainerDecoder>> s_factories = new Dictionary<DetectedFormat, Func<IContainerDecoder>>();

        public static void Register(DetectedFormat format, Func<IContainerDecoder> factory)
        {
            lock (s_factories)
            {
                s_factories[format] = factory;
            }
        }

        /// <summary>A decoder for a container of <paramref name="format"/>, or null when it is not a container.</summary>
        public static IContainerDecoder? Create(DetectedFormat format) => s_factories.TryGetValue(format, out var f) ? f() : null;

        /// <summary>Whether inputs of <paramref name="format"/> are containers the stream reader opens.</summary>
        public static bool IsContainer(DetectedFormat format) => s_factories.ContainsKey(format);
    }
}
