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

        /// <summary>
        /// Opens <paramref name="path"/> to read it again at any offset, when it is a regular file at
        /// least <paramref name="minimumLength"/> bytes long; null otherwise. A FIFO or a device is
        /// never opened here: opening a drained pipe would block, and re-reading it would not give
        /// the same bytes.
        /// </summary>
        public static FileStream? OpenForRereading(string? path, long minimumLength)
        {
            if (path is null || FileIdentity.KindOf(path) != FileKind.Regular)
            {
                return null;
            }

            FileStream? file = null;
            try
            {
                file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, FileOptions.RandomAccess);
                if (file.CanSeek && file.Length >= minimumLength)
                {
                    FileStream result = file;
                    file = null;
                    return result;
                }

                return null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (System.UnauthorizedAccessException)
            {
                return null;
            }
            finally
            {
                file?.Dispose();
            }
        }
    }
}
