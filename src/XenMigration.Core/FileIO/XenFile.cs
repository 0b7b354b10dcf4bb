using System.IO;

namespace XenMigration.FileIO
{
    /// <summary>How every command of this library opens its input files.</summary>
    internal static class XenFile
    {
        /// <summary>
        /// Opens <paramref name="path"/> for reading only, sharing it with other readers, without a
        /// FileStream buffer (the readers buffer themselves, and skip page data by seeking).
        /// </summary>
        public static FileStream OpenRead(string path) =>
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
    }
}
