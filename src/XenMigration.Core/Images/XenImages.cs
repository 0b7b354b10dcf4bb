using System.Collections.Generic;
using XenMigration.FileIO;
using XenMigration.HvmContext;
using XenMigration.Records;
using XenMigration.XenStream;

namespace XenMigration.Images
{
    /// <summary>What crosses the formats of one Xen image file: the HVM context of every checkpoint, and so on.</summary>
    internal static class XenImages
    {
        /// <summary>
        /// The entries of every HVM_CONTEXT record of a Xen image (xl, libxl or libxc stream), with
        /// <see cref="HvmContextEntry.Checkpoint"/> counting the records (checkpointed streams have one per checkpoint).
        /// </summary>
        /// <exception cref="XenFormatException">The image, or an HVM context in it, is malformed.</exception>
        public static IEnumerable<HvmContextEntry> ReadHvmContext(string path)
        {
            using var reader = new XenStreamReader(XenFile.OpenRead(path), leaveOpen: false, new XenStreamReaderOptions { SourcePath = path });
            int checkpoint = 0;
            while (reader.ReadNext() is XenStreamRecord r)
            {
                if (r.Type != XenRecordType.HvmContext)
                {
                    continue;
                }

                foreach (HvmContextEntry e in HvmContextDecoder.DecodeRecord(r, checkpoint))
                {
                    yield return e;
                }

                checkpoint++;
            }
        }
    }
}
