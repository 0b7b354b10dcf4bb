using System;
using System.Globalization;

namespace XenMigration.Xenstore
{
    /// <summary>Record types of a xenstore migration / live-update dump (docs/formats §5.2).</summary>
    public enum XenstoreRecordType
    {
        /// <summary>Something this library does not know (types 9 and up; xenstored skips them).</summary>
        Unknown = -2,
        /// <summary>The 16-byte stream header.</summary>
        Header = -1,
        /// <summary>END (0).</summary>
        End = 0,
        /// <summary>GLOBAL_DATA (1), live update only.</summary>
        Global = 1,
        /// <summary>CONNECTION_DATA (2).</summary>
        Connection = 2,
        /// <summary>WATCH_DATA (3).</summary>
        Watch = 3,
        /// <summary>TRANSACTION_DATA (4).</summary>
        Transaction = 4,
        /// <summary>NODE_DATA (5).</summary>
        Node = 5,
        /// <summary>GLOBAL_QUOTA_DATA (6), live update only.</summary>
        GlobalQuota = 6,
        /// <summary>DOMAIN_DATA (7).</summary>
        Domain = 7,
        /// <summary>WATCH_DATA_EXTENDED (8), version 2.</summary>
        WatchExtended = 8,
    }

    /// <summary>Connection kinds of CONNECTION_DATA.</summary>
    public enum XenstoreConnectionType : ushort
    {
        /// <summary>A domain's shared ring.</summary>
        SharedRing = 0,
        /// <summary>A local socket.</summary>
        Socket = 1,
    }

    /// <summary>The access a permission grants.</summary>
    public enum XenstoreAccess
    {
        /// <summary>'n': none.</summary>
        None,
        /// <summary>'r': read.</summary>
        Read,
        /// <summary>'w': write.</summary>
        Write,
        /// <summary>'b': read and write.</summary>
        Both,
    }

    /// <summary>What a transaction did to a pending node (NODE_DATA access field).</summary>
    [Flags]
    public enum XenstoreNodeAccess : ushort
    {
        /// <summary>Deleted in the transaction (or a committed node, where the field is unused).</summary>
        None = 0,
        /// <summary>Read in the transaction.</summary>
        Read = 0x1,
        /// <summary>Written in the transaction.</summary>
        Written = 0x2,
    }

    /// <summary>Which of the three disagreeing WATCH_DATA_EXTENDED layouts a record uses (docs/formats §5.6).</summary>
    public enum XenstoreWatchLayout
    {
        /// <summary>WATCH_DATA: no depth field.</summary>
        Plain,
        /// <summary>The spec's diagram: depth u16 and 2 pad bytes, strings at offset 12.</summary>
        Spec,
        /// <summary>The C struct: depth u16, strings at offset 10.</summary>
        CStruct,
        /// <summary>What the C writer emits: the depth left out, strings at offset 8.</summary>
        CWriter,
    }

    /// <summary>One permission of a node: the first one names the owner.</summary>
    public sealed class XenstorePermission
    {
        /// <summary>Creates a permission.</summary>
        public XenstorePermission(XenstoreAccess access, ushort domainId, bool stale = false)
        {
            Access = access;
            DomainId = domainId;
            Stale = stale;
        }

        /// <summary>The access granted (for the first entry, the access of every other domain).</summary>
        public XenstoreAccess Access { get; }

        /// <summary>The domain.</summary>
        public ushort DomainId { get; }

        /// <summary>Stale: kept for a domain that went away, ignored when checking access.</summary>
        public bool Stale { get; }

        /// <summary>The wire letter: n, r, w or b.</summary>
        public char Letter => XenstoreFormat.LetterOf(Access);

        /// <summary>Parses "b0", "r7", "n12" (xenstore-chmod style).</summary>
        public static XenstorePermission Parse(string text)
        {
            if (text is null || text.Length < 2 || !XenstoreFormat.TryAccessOf(text[0], out XenstoreAccess access) ||
                !ushort.TryParse(text.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out ushort domid))
            {
                throw new FormatException(string.Format(CultureInfo.InvariantCulture, "'{0}' is not a xenstore permission: a letter n, r, w or b followed by a domain id, like b0 or r7.", text));
            }

            return new XenstorePermission(access, domid);
        }

        /// <inheritdoc/>
        public override string ToString() => Letter + DomainId.ToString(CultureInfo.InvariantCulture) + (Stale ? "(stale)" : string.Empty);
    }

    /// <summary>Constants and rules of the xenstore dump format.</summary>
    internal static class XenstoreFormat
    {
        /// <summary>"xenstore" as a big-endian u64.</summary>
        public const ulong Ident = 0x78656E73746F7265;
        /// <summary>Header size.</summary>
        public const int HeaderSize = 16;
        /// <summary>Header flags bit 0: the records are big-endian.</summary>
        public const uint FlagBigEndian = 0x1;
        /// <summary>The version written by default.</summary>
        public const uint CurrentVersion = 2;
        /// <summary>Records longer than this are refused before they are read (real ones are a few KiB).</summary>
        public const int MaxRecordLength = Framing.Limits.MaxXenstoreRecordLength;
        /// <summary>XENSTORE_ABS_PATH_MAX.</summary>
        public const int MaxPathLength = 3072;
        /// <summary>XENSTORE_PAYLOAD_MAX: the largest value.</summary>
        public const int MaxValueLength = 4096;
        /// <summary>DOMID_INVALID, the "no target" of a shared-ring connection.</summary>
        public const ushort DomidInvalid = 0x7FF4;
        /// <summary>WATCH_DATA_EXTENDED depth meaning "no limit".</summary>
        public const ushort UnlimitedDepth = 0xFFFF;

        /// <summary>Whether an input starts like a xenstore dump ("xenstore", or a prefix of it).</summary>
        internal static bool Probe(System.ReadOnlySpan<byte> head) => Framing.FormatDetector.MatchesMagic(head, "xenstore");

        /// <summary>The permission letter of an access.</summary>
        public static char LetterOf(XenstoreAccess access) => access switch
        {
            XenstoreAccess.Read => 'r',
            XenstoreAccess.Write => 'w',
            XenstoreAccess.Both => 'b',
            _ => 'n',
        };

        /// <summary>The access of a permission letter.</summary>
        public static bool TryAccessOf(char letter, out XenstoreAccess access)
        {
            switch (letter)
            {
                case 'n': access = XenstoreAccess.None; return true;
                case 'r': access = XenstoreAccess.Read; return true;
                case 'w': access = XenstoreAccess.Write; return true;
                case 'b': access = XenstoreAccess.Both; return true;
                default: access = XenstoreAccess.None; return false;
            }
        }

        /// <summary>
        /// Why <paramref name="path"/> is not a valid absolute node path (xenstore.txt: '/'-separated
        /// components of ASCII letters, digits and -_@, at most 3072 bytes), or null when it is.
        /// </summary>
        public static string? CheckNodePath(string path)
        {
            if (string.IsNullOrEmpty(path))
            {
                return "the path is empty";
            }

            if (path[0] == '@')
            {
                // Special nodes (@releaseDomain, @introduceDomain, ...): xenstored keeps them, with
                // their permissions, as nodes outside the tree, and dumps them as node records.
                if (path.Length == 1 || path.IndexOf('/') >= 0)
                {
                    return "a special node's name is '@' and a name without '/'";
                }
            }
            else if (path[0] != '/')
            {
                return "the path is neither absolute (starting with '/') nor a special '@' node";
            }

            if (path.Length > MaxPathLength)
            {
                return string.Format(CultureInfo.InvariantCulture, "the path is {0} characters long, more than {1}", path.Length, MaxPathLength);
            }

            if (path.Length > 1 && path[path.Length - 1] == '/')
            {
                return "the path ends with '/'";
            }

            if (path.IndexOf("//", StringComparison.Ordinal) >= 0)
            {
                return "the path has an empty component ('//')";
            }

            foreach (char c in path)
            {
                if (!IsPathChar(c))
                {
                    return string.Format(CultureInfo.InvariantCulture, "the path contains '{0}' (U+{1:X4}); only ASCII letters, digits and -/_@ are allowed", c, (int)c);
                }
            }

            return null;
        }

        /// <summary>
        /// The characters of xenstore paths and keys (xenstore.txt): ASCII letters, digits and -/_@.
        /// The one definition used by the dump writer's checks, the verifier and the stream decoder.
        /// </summary>
        public static bool IsPathChar(char c) =>
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '_' || c == '@';

        /// <summary>The parent of an absolute path ("/" for top-level nodes, null for "/" and special '@' nodes).</summary>
        public static string? ParentOf(string path)
        {
            if (path == "/" || (path.Length > 0 && path[0] == '@'))
            {
                return null;
            }

            int slash = path.LastIndexOf('/');
            return slash <= 0 ? "/" : path.Substring(0, slash);
        }
    }
}
