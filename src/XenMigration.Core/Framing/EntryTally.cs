namespace XenMigration.Framing
{
    /// <summary>
    /// How many entries of a record broke one rule, and the first of them, for the entries a reader
    /// counted but did not keep (see FramedRecordReader.ReadEntries): the verifier reports them
    /// without the reader holding every entry in memory.
    /// </summary>
    internal sealed class EntryTally
    {
        public long Count { get; private set; }

        /// <summary>Index of the first entry counted; -1 when none.</summary>
        public long First { get; private set; } = -1;

        public void Add(long index)
        {
            if (Count++ == 0)
            {
                First = index;
            }
        }
    }
}
