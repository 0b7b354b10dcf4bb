namespace XenMigration.Framing
{
    /// <summary>Byte order of a header's fields (an xl header, a libvirt header: written in the saving host's order).</summary>
    public enum ByteOrder
    {
        /// <summary>Little-endian (x86 hosts): the only order Xen restores.</summary>
        LittleEndian,
        /// <summary>Big-endian.</summary>
        BigEndian,
    }
}
