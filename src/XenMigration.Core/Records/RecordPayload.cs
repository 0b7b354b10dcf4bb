using System;
using System.Globalization;
using System.IO;
using XenMigration.FileIO;
using XenMigration.Framing;

namespace XenMigration.Records
{
    /// <summary>
    /// A record's payload, wherever it can still be read: from the reader while the record is
    /// current (files and pipes alike), else from the record's file at <see cref="XenStreamRecord.PayloadOffset"/>
    /// (after the reader has moved on or been closed, as when records come down a pipeline that has
    /// finished reading).
    /// </summary>
    internal static class RecordPayload
    {
        /// <summary>A stream over the payload of <paramref name="record"/>.</summary>
        /// <exception cref="InvalidOperationException">The reader has moved on and the record has no regular file to read from.</exception>
        public static Stream Open(XenStreamRecord record, IPayloadSource? source, int generation)
        {
            if (record.PayloadLength == 0)
            {
                return Stream.Null;
            }

            if (source is not null)
            {
                try
                {
                    return source.OpenPayload(record, generation);
                }
                catch (Exception e) when (e is InvalidOperationException && OpenFromFile(record) is Stream again)
                {
                    return again;
                }
            }

            return OpenFromFile(record) ?? throw new InvalidOperationException(source is null
                ? "This record was not produced by a reader and has no file to read its payload from."
                : "The payload of a record read from a pipe or stream can only be read before the reader moves to the next record.");
        }

        /// <summary>
        /// The whole payload of <paramref name="record"/> in memory, refused (with the record's offset)
        /// when it is longer than <paramref name="max"/> bytes. <paramref name="what"/> names it in messages.
        /// </summary>
        /// <exception cref="XenFormatException">The payload is over the cap, or the input ends inside it.</exception>
        public static byte[] ReadAll(XenStreamRecord record, int max, string what)
        {
            if (record.PayloadLength > max)
            {
                throw new XenFormatException(
                    XenErrorIds.RecordTooLarge,
                    string.Format(CultureInfo.InvariantCulture, "The {0} of record #{1} at offset 0x{2:X} is {3} bytes; at most {4} are read.", what, record.Index, record.PayloadOffset, record.PayloadLength, max),
                    record.PayloadOffset,
                    record.Index,
                    record.Type.ToString());
            }

            byte[] blob = new byte[record.PayloadLength];
            using (Stream source = record.OpenPayload())
            {
                int done = ForwardReadStream.ReadFully(source, blob, 0, blob.Length);
                if (done != blob.Length)
                {
                    throw new XenTruncatedException(
                        string.Format(CultureInfo.InvariantCulture, "Unexpected end of stream at offset {0} in the {1} of record #{2} (offset {3}, {4} bytes).", record.PayloadOffset + done, what, record.Index, record.PayloadOffset, record.PayloadLength),
                        record.PayloadOffset + done,
                        record.Index,
                        record.Type.ToString());
                }
            }

            return blob;
        }

        private static Stream? OpenFromFile(XenStreamRecord record)
        {
            FileStream? file = XenFile.OpenForRereading(record.FilePath, record.PayloadOffset + record.PayloadLength);
            return file is null ? null : new WindowStream(file, record.PayloadOffset, record.PayloadLength);
        }
    }
}
