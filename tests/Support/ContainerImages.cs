using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace XenMigration.TestSupport;

/// <summary>
/// The wrapper formats saved guests live in, built from their sources' layouts:
/// XenServer/XCP-ng suspend images (xen-api ocaml/xenopsd/lib/suspend_image.ml: the signature, then
/// little-endian u64 type and u64 length per record) and libvirt libxl saves (libvirt
/// src/libxl/libxl_domain.c: libxlSavefileHeader, 64 bytes, then the XML, then the libxl stream).
/// </summary>
public static class ContainerImages
{
    /// <summary>
    /// A Xenops record as xenopsd 24.x writes it (Sexplib of Xenops_record.t): time, word size, and
    /// the VM record as JSON in vm_str.
    /// </summary>
    public static string XenopsRecord(string name = "win2019", string uuid = "3b2e0d8f-6a5c-4e1b-9f7d-2c4a8e6b1d05", long staticMax = 4L << 30, long dynamicMax = 4L << 30, int vcpus = 2, string type = "HVM")
    {
        string vm = "{\"id\":\"" + uuid + "\",\"name\":\"" + name + "\",\"ssidref\":0,\"xsdata\":{},\"platformdata\":{\"viridian\":\"true\"},\"bios_strings\":{},\"ty\":[\"" + type + "\",{\"hap\":true,\"shadow_multiplier\":1.0,\"timeoffset\":\"0\",\"video_mib\":4,\"video\":\"Cirrus\",\"acpi\":true,\"serial\":\"pty\",\"keymap\":\"en-us\",\"pci_emulations\":[],\"pci_passthrough\":false,\"boot_order\":\"cd\",\"qemu_disk_cmdline\":false,\"qemu_stubdom\":false,\"firmware\":[\"Bios\"],\"tpm\":null}],\"suppress_spurious_page_faults\":false,\"machine_address_size\":null,\"memory_static_max\":" + staticMax + ",\"memory_dynamic_max\":" + dynamicMax + ",\"memory_dynamic_min\":" + (dynamicMax / 2) + ",\"vcpu_max\":" + vcpus + ",\"vcpus\":" + vcpus + ",\"scheduler_params\":{\"priority\":[256,0],\"affinity\":[]},\"on_crash\":[\"Shutdown\"],\"on_shutdown\":[\"Shutdown\"],\"on_reboot\":[\"Start\"],\"pci_msitranslate\":true,\"pci_power_mgmt\":false,\"has_vendor_device\":false,\"generation_id\":\"\"}";
        return "((time 20261204T10:15:02Z)(word_size 64)(vm_str \"" + vm.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"))";
    }

    /// <summary>A XenServer suspend image: records given as (type, body or null for a following stream).</summary>
    public static byte[] XenServer(params (ulong Type, byte[]? Body, byte[]? Stream)[] records)
    {
        var ms = new MemoryStream();
        ms.Write(Encoding.ASCII.GetBytes("XenSavedDomv2-\n"));
        foreach (var (type, body, stream) in records)
        {
            ms.Write(BitConverter.GetBytes(type));
            ms.Write(BitConverter.GetBytes((ulong)(body?.Length ?? 0)));
            if (body is not null)
            {
                ms.Write(body);
            }

            if (stream is not null)
            {
                ms.Write(stream);
            }
        }

        return ms.ToArray();
    }

    /// <summary>A typical HVM suspend image: Xenops, Libxc + the libxc stream, Qemu_xen + QEMU's device state, End_of_image.</summary>
    public static byte[] XenServerHvm(string? xenops = null, byte[]? qemu = null, long? qemuLengthOverride = null)
    {
        byte[] libxc = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.None, Pages = 24, BatchSize = 8, Vcpus = 2, Config = null, EmulatorState = null, XenstoreData = false });
        byte[] state = qemu ?? File.ReadAllBytes(Fixtures.QemuDevicesState);
        return XenServer(
            (0x000F, Encoding.UTF8.GetBytes(xenops ?? XenopsRecord()), null),
            (0x00F0, null, libxc),
            (0x0F01, state, null),
            (0xFFFF, null, null));
    }

    /// <summary>A libvirt libxl driver save: header, domain XML, then a libxl stream.</summary>
    public static byte[] LibvirtLibxl(string xml, uint version = 2)
    {
        byte[] libxl = ImageBuilder.Build(new ImageSpec { Wrapping = Wrapping.Libxl, Pages = 16, BatchSize = 8, Vcpus = 2 });
        byte[] x = Encoding.UTF8.GetBytes(xml + "\0");
        var header = new byte[64];
        Encoding.ASCII.GetBytes("libvirt-xml\n \0 \r").CopyTo(header, 0);
        BitConverter.GetBytes(version).CopyTo(header, 16);
        BitConverter.GetBytes((uint)x.Length).CopyTo(header, 20);
        var ms = new MemoryStream();
        ms.Write(header);
        ms.Write(x);
        ms.Write(libxl);
        return ms.ToArray();
    }

    public const string LibvirtXml = "<domain type='xen'>\n  <name>guest42</name>\n  <uuid>a1b2c3d4-e5f6-4071-8293-a4b5c6d7e8f9</uuid>\n  <memory unit='KiB'>1048576</memory>\n  <currentMemory unit='KiB'>1048576</currentMemory>\n  <vcpu placement='static'>2</vcpu>\n  <os>\n    <type arch='x86_64' machine='xenfv'>hvm</type>\n  </os>\n  <devices>\n    <disk type='file' device='disk'>\n      <source file='/var/lib/xen/images/guest42.img'/>\n      <target dev='xvda' bus='xen'/>\n    </disk>\n    <interface type='bridge'>\n      <mac address='00:16:3e:42:42:42'/>\n      <source bridge='xenbr0'/>\n    </interface>\n  </devices>\n</domain>\n";
}
