using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using XenMigration.FileIO;
using XenMigration.Framing;
using XenMigration.Images;
using XenMigration.Libxc;
using XenMigration.Qemu;
using XenMigration.Records;
using XenMigration.XenStream;

namespace XenMigration.Inspection
{
    /// <summary>One pass of a live migration over guest memory (Measure-XenStream).</summary>
    public sealed class XenStreamPass
    {
        internal XenStreamPass(string? filePath, int pass) => (FilePath, Pass) = (filePath, pass);

        /// <summary>The image.</summary>
        public string? FilePath { get; }

        /// <summary>1 for the first pass over memory, then 2, 3, ...</summary>
        public int Pass { get; }

        /// <summary>Offset of the pass's first page record.</summary>
        public long Offset { get; internal set; }

        /// <summary>Page records of the pass (PAGE_DATA records, or QEMU RAM chunks).</summary>
        public long Records { get; internal set; }

        /// <summary>Pages whose contents the pass sent.</summary>
        public long PagesSent { get; internal set; }

        /// <summary>Pages sent for the first time.</summary>
        public long NewPages { get; internal set; }

        /// <summary>Pages sent again (dirtied since an earlier pass).</summary>
        public long Resends { get; internal set; }

        /// <summary>Zero pages (Xen XALLOC, QEMU zero pages): no contents sent.</summary>
        public long ZeroPages { get; internal set; }

        /// <summary>Xen XTAB entries (not in the guest's P2M).</summary>
        public long XtabPages { get; internal set; }

        /// <summary>Xen BROKEN entries.</summary>
        public long BrokenPages { get; internal set; }

        /// <summary>Bytes of the pass's page records.</summary>
        public long Bytes { get; internal set; }

        /// <summary>Bytes in MiB.</summary>
        public double MiB => Math.Round(Bytes / 1048576.0, 1);

        /// <summary>The pages sent as a bar, scaled to the largest pass: convergence at a glance.</summary>
        public string Bar { get; internal set; } = string.Empty;

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "pass {0}: {1} pages sent ({2} again)", Pass, PagesSent, Resends);
    }

    /// <summary>Bytes a record type takes in a stream.</summary>
    public sealed class XenRecordTypeBytes
    {
        internal XenRecordTypeBytes(string type, long records, long bytes) => (Type, Records, Bytes) = (type, records, bytes);

        /// <summary>The record type (Xen's enum name, or QEMU's section kind).</summary>
        public string Type { get; }

        /// <summary>Records of the type.</summary>
        public long Records { get; }

        /// <summary>Bytes they take, headers included.</summary>
        public long Bytes { get; }

        /// <inheritdoc/>
        public override string ToString() => Type + ": " + Bytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes";
    }

    /// <summary>How a migration stream went, in sum (Measure-XenStream -Summary).</summary>
    public sealed class XenStreamMeasurement
    {
        internal XenStreamMeasurement(string? filePath) => FilePath = filePath;

        /// <summary>The image.</summary>
        public string? FilePath { get; }

        /// <summary>Passes over memory.</summary>
        public int Passes { get; internal set; }

        /// <summary>Checkpoints (Remus/COLO).</summary>
        public int Checkpoints { get; internal set; }

        /// <summary>Pages sent in all passes.</summary>
        public long PagesSent { get; internal set; }

        /// <summary>Distinct pages sent.</summary>
        public long DistinctPages { get; internal set; }

        /// <summary>Pages sent more than once.</summary>
        public long Resends { get; internal set; }

        /// <summary>Resends per distinct page (0: a stopped save; high: a guest dirtying memory faster than it moved).</summary>
        public double ResendRatio => DistinctPages == 0 ? 0 : Math.Round(Resends / (double)DistinctPages, 3);

        /// <summary>Pages the last pass sent (what the guest dirtied during the one before: the stop-and-copy size).</summary>
        public long LastPassPages { get; internal set; }

        /// <summary>Zero, XTAB and BROKEN entries in all passes.</summary>
        public long ZeroPages { get; internal set; }

        /// <summary>Bytes per record type.</summary>
        public IReadOnlyList<XenRecordTypeBytes> BytesByType { get; internal set; } = Array.Empty<XenRecordTypeBytes>();

        /// <summary>Bytes of the whole stream.</summary>
        public long Bytes { get; internal set; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} passes, {1} pages sent, {2} distinct, {3} resends", Passes, PagesSent, DistinctPages, Resends);
    }

    /// <summary>
    /// Measures a live-migration stream: passes over guest memory (a pass ends where the page
    /// order restarts, or at a checkpoint), pages per pass, resends, zero pages, bytes per record
    /// type. Pages are tracked in a sparse bitmap; no page contents are read.
    /// </summary>
    internal static class StreamMeasure
    {
        private const int BarWidth = 25;

        public static (List<XenStreamPass> Passes, XenStreamMeasurement Summary) Measure(string path, CancellationToken cancel = default)
        {
            using FileStream stream = XenFile.OpenRead(path);
            Stream input = stream.CanSeek ? stream : new PeekStream(stream);
            DetectedFormat format = FormatDetector.Detect(PeekStream.Probe(input, FormatDetector.ProbeLength));
            var counter = new PassCounter(path);
            if (format is DetectedFormat.QemuSavevm or DetectedFormat.LibvirtSave || FormatDetector.IsCompressed(format))
            {
                MeasureQemu(input, path, counter, cancel);
            }
            else
            {
                MeasureXen(input, path, counter, cancel);
            }

            return counter.Finish();
        }

        private static void MeasureXen(Stream input, string path, PassCounter counter, CancellationToken cancel)
        {
            using var reader = new XenStreamReader(input, leaveOpen: true, new XenStreamReaderOptions { SourcePath = path });
            XenStreamRecord? r;
            ulong? lastPfn = null;
            while ((r = reader.ReadNext()) is not null)
            {
                cancel.ThrowIfCancellationRequested();
                counter.Record(r.Type.ToString(), r.Length);
                if (r is PageDataRecord p && p.Frames.Count > 0)
                {
                    if (lastPfn is ulong previous && p.Frames[0].Pfn <= previous)
                    {
                        counter.NextPass();
                    }

                    counter.PageRecord(p.Offset, p.Length);
                    foreach (PageFrame f in p.Frames)
                    {
                        switch (f.Type)
                        {
                            case XenPageType.XTab:
                                counter.Current.XtabPages++;
                                break;
                            case XenPageType.Broken:
                                counter.Current.BrokenPages++;
                                break;
                            case XenPageType.XAlloc:
                                counter.Current.ZeroPages++;
                                break;
                            default:
                                counter.Page(f.Pfn);
                                break;
                        }
                    }

                    lastPfn = p.LastPfn;
                }
                else if (r.Type == XenRecordType.Checkpoint)
                {
                    counter.Checkpoints++;
                    counter.NextPass();
                    lastPfn = null;
                }
            }
        }

        private static void MeasureQemu(Stream input, string path, PassCounter counter, CancellationToken cancel)
        {
            var sink = new QemuPassSink(counter);
            using QemuImage image = QemuImage.Open(input, leaveOpen: true, new QemuStreamReaderOptions { SourcePath = path, PageSink = sink, CancellationToken = cancel });
            QemuRecord? r;
            while ((r = image.Reader.ReadNext()) is not null)
            {
                string type = r is QemuSection s ? (s.Ram is not null ? "ram " + s.Kind : s.IdStr) : r.GetType().Name;
                counter.Record(type, r.Length);
                if (r is QemuSection { Ram: not null } ram)
                {
                    counter.PageRecord(ram.Offset, ram.Length);
                }
            }
        }

        // QEMU sends a block's dirty pages in address order each iteration: the order restarting is a new pass.
        private sealed class QemuPassSink : IQemuPageSink
        {
            private readonly PassCounter _counter;
            private (int Block, long Page)? _last;

            public QemuPassSink(PassCounter counter) => _counter = counter;

            public void Blocks(IReadOnlyList<QemuRamBlock> blocks)
            {
            }

            public void Page(int block, long page, ReadOnlySpan<byte> data) => Next(block, page, zero: false);

            public void Fill(int block, long page, byte value) => Next(block, page, zero: value == 0);

            public void Xbzrle(int block, long page, ReadOnlySpan<byte> delta, long at) => Next(block, page, zero: false);

            private void Next(int block, long page, bool zero)
            {
                if (_last is (int b, long p) && (block < b || (block == b && page <= p)))
                {
                    _counter.NextPass();
                }

                _last = (block, page);
                if (zero)
                {
                    _counter.Current.ZeroPages++;
                }
                else
                {
                    _counter.Page(((ulong)(uint)block << 52) | (ulong)page);
                }
            }
        }

        private sealed class PassCounter
        {
            private readonly string _path;
            private readonly List<XenStreamPass> _passes = new List<XenStreamPass>();
            private readonly PageBitmap _seen = new PageBitmap();
            private readonly SortedDictionary<string, (long Records, long Bytes)> _types = new SortedDictionary<string, (long, long)>(StringComparer.Ordinal);
            private bool _empty = true;

            public PassCounter(string path)
            {
                _path = path;
                _passes.Add(new XenStreamPass(path, 1));
            }

            public int Checkpoints { get; set; }

            public XenStreamPass Current => _passes[_passes.Count - 1];

            public void Record(string type, long length)
            {
                _types.TryGetValue(type, out var t);
                _types[type] = (t.Records + 1, t.Bytes + length);
            }

            public void NextPass()
            {
                if (!_empty)
                {
                    _passes.Add(new XenStreamPass(_path, _passes.Count + 1));
                    _empty = true;
                }
            }

            public void PageRecord(long offset, long length)
            {
                if (Current.Records == 0)
                {
                    Current.Offset = offset;
                }

                Current.Records++;
                Current.Bytes += length;
            }

            public void Page(ulong key)
            {
                _empty = false;
                Current.PagesSent++;
                if (_seen.Get(key))
                {
                    Current.Resends++;
                }
                else
                {
                    _seen.Set(key, true);
                    Current.NewPages++;
                }
            }

            public (List<XenStreamPass>, XenStreamMeasurement) Finish()
            {
                if (_passes.Count > 1 && _empty && Current.Records == 0)
                {
                    _passes.RemoveAt(_passes.Count - 1);
                }

                long max = 1;
                foreach (XenStreamPass p in _passes)
                {
                    max = Math.Max(max, p.PagesSent);
                }

                var summary = new XenStreamMeasurement(_path) { Passes = _passes.Count, Checkpoints = Checkpoints, DistinctPages = _seen.Count };
                foreach (XenStreamPass p in _passes)
                {
                    p.Bar = new string('#', (int)Math.Ceiling(p.PagesSent * (double)BarWidth / max));
                    summary.PagesSent += p.PagesSent;
                    summary.Resends += p.Resends;
                    summary.ZeroPages += p.ZeroPages + p.XtabPages + p.BrokenPages;
                }

                summary.LastPassPages = _passes[_passes.Count - 1].PagesSent;
                var types = new List<XenRecordTypeBytes>();
                foreach (var kv in _types)
                {
                    types.Add(new XenRecordTypeBytes(kv.Key, kv.Value.Records, kv.Value.Bytes));
                    summary.Bytes += kv.Value.Bytes;
                }

                summary.BytesByType = ReadOnlyView.Of(types.ToArray());
                return (_passes, summary);
            }
        }
    }
}
