using System;
using System.Collections.Generic;
using System.Globalization;
using XenMigration.Framing;
using XenMigration.Libxc;
using XenMigration.Libxl;
using XenMigration.Records;
using XenMigration.Rules;

namespace XenMigration.Verification
{
    /// <summary>
    /// Rules between the domain configuration saved in the image (xl's header) and the stream: each
    /// part well formed, but the restore fails or the restored guest is not what the config says.
    /// libxl creates the domain from the config first (type, memory, Viridian, TSC mode, device
    /// model), then libxenguest and libxl restore the stream into it. Facts are gathered record by
    /// record (pages in a sparse bitmap, so memory follows the guest's size in pages / 32768) and
    /// judged at the end of the stream.
    /// </summary>
    internal sealed class ConfigConsistency
    {
        // libxl (libxl_x86.c) turns the config's Viridian groups into HVM_PARAM_VIRIDIAN bits.
        private static readonly Dictionary<string, ulong> s_viridianGroups = new Dictionary<string, ulong>(StringComparer.OrdinalIgnoreCase)
        {
            ["base"] = 1UL << 0,
            ["time_ref_count"] = 1UL << 2,
            ["reference_tsc"] = 1UL << 3,
            ["hcall_remote_tlb_flush"] = 1UL << 4,
            ["apic_assist"] = 1UL << 5,
            ["crash_ctl"] = 1UL << 6,
            ["synic"] = 1UL << 7,
            ["stimer"] = 1UL << 8,
            ["hcall_ipi"] = 1UL << 9,
            ["ex_processor_masks"] = 1UL << 10,
            ["no_vp_limit"] = 1UL << 11,
            ["cpu_hotplug"] = 1UL << 12,
        };

        private const ulong ViridianDefaults = 0x65;   // base, freq, time_ref_count, apic_assist, crash_ctl
        private const ulong NoFreq = 1UL << 1;
        private const ulong LibxlMaxmemConstantKb = 1024;   // LIBXL_MAXMEM_CONSTANT
        private const ulong DefaultVideoKb = 16 << 10;      // qemu-xen's stdvga; cirrus takes less
        private const ulong SpecialPagesKb = 256;           // ioreq, bufioreq, xenstore, console, ... (0xfeff0-0xfefff and more)

        private readonly DomainConfig _config;
        private readonly PageBitmap _pages = new PageBitmap();
        private XenStreamRecord? _viridianRecord;
        private ulong? _viridian;
        private TscInfoRecord? _tsc;
        private XenStreamRecord? _emulator;
        private EmulatorKind? _emulatorKind;
        private XenStreamRecord? _lastPages;
        private bool _typeMismatch;

        public ConfigConsistency(DomainConfig config) => _config = config;

        public void OnRecord(XenStreamRecord r, IssueList issues)
        {
            switch (r)
            {
                case DomainHeaderRecord d:
                    CheckGuestType(d, issues);
                    break;
                case PageDataRecord p:
                    foreach (PageFrame f in p.Frames)
                    {
                        if (f.HasData || f.Type == XenPageType.XAlloc)
                        {
                            _pages.Set(f.Pfn, true);
                        }
                    }

                    _lastPages = p;
                    break;
                case HvmParamsRecord h:
                    foreach (HvmParam param in h.Params)
                    {
                        if (param.Index == HvmParamNames.Viridian)
                        {
                            _viridian = param.Value;
                            _viridianRecord = h;
                        }
                    }

                    break;
                case TscInfoRecord t:
                    _tsc = t;
                    break;
                case EmulatorContextRecord e:
                    _emulator ??= e;
                    _emulatorKind ??= e.EmulatorId;
                    break;
                case EmulatorXenstoreDataRecord x:
                    _emulator ??= x;
                    _emulatorKind ??= x.EmulatorId;
                    break;
            }
        }

        public void OnEnd(IssueList issues)
        {
            CheckMemory(issues);
            CheckViridian(issues);
            CheckTsc(issues);
            CheckDeviceModel(issues);
        }

        private void CheckGuestType(DomainHeaderRecord d, IssueList issues)
        {
            if (_config.Type is not string type || (d.GuestType != XenGuestType.Pv && d.GuestType != XenGuestType.Hvm))
            {
                return;
            }

            // PVH guests are saved as HVM streams.
            bool configHvm = type is "hvm" or "pvh";
            if (configHvm != (d.GuestType == XenGuestType.Hvm))
            {
                _typeMismatch = true;
                issues.Add(XenIssueCodes.ConfigGuestType, d, Fmt("the domain configuration says type {0} but the stream is of {1} guest: libxl builds a {0} domain from the config, and libxenguest refuses a stream of the other type (xc_sr_restore.c, read_headers)", type, d.GuestType == XenGuestType.Hvm ? "an HVM" : "a PV"));
            }
        }

        private void CheckMemory(IssueList issues)
        {
            if (_config.MaxMemKb is ulong max && _config.TargetMemKb is ulong target && target > max)
            {
                issues.Add(XenIssueCodes.ConfigMemory, 0, null, null, Fmt("the domain configuration's target memory ({0} KiB) is above its maximum ({1} KiB): libxl refuses to create the domain", target, max));
            }

            if (_config.MaxMemKb is ulong maxKb && _lastPages is not null)
            {
                ulong video = _config.Type is "hvm" ? _config.VideoMemKb ?? DefaultVideoKb : 0;
                ulong allowed = maxKb + video + LibxlMaxmemConstantKb + SpecialPagesKb;
                ulong present = (ulong)_pages.Count * 4;
                if (present > allowed)
                {
                    issues.Add(XenIssueCodes.ConfigMemory, _lastPages, Fmt("the stream populates {0} KiB of guest memory ({1} pages) but the configuration allows at most {2} KiB (max_memkb {3} + video {4} + libxl's {5} KiB): Xen refuses the pages past the domain's maximum and the restore fails", present, _pages.Count, allowed, maxKb, video, LibxlMaxmemConstantKb));
                }
            }
        }

        private void CheckViridian(IssueList issues)
        {
            if (_viridian is not ulong stream || stream == 0 || ConfiguredViridian() is not ulong config || config == 0 || config == stream)
            {
                return;
            }

            issues.Add(XenIssueCodes.ConfigViridian, _viridianRecord!, Fmt("the stream sets HVM_PARAM_VIRIDIAN to 0x{0:x} but the configuration's Viridian groups give 0x{1:x}: libxl sets the parameter when it creates the domain, and Xen refuses to change it afterwards (hvm_allow_set_param: \"set HVM param 9 = 0x{0:x}\" fails with EEXIST)", stream, config));
        }

        // The HVM_PARAM_VIRIDIAN value libxl derives from the configuration (libxl_x86.c,
        // hvm_set_viridian_features); null when the config does not say.
        private ulong? ConfiguredViridian()
        {
            if (_config.Viridian is not bool enabled)
            {
                return null;
            }

            if (!enabled)
            {
                return 0;
            }

            IReadOnlyList<string> groups = _config.ViridianGroups;
            if (groups.Count == 0)
            {
                return ViridianDefaults;
            }

            ulong mask = 0;
            bool freq = false;
            foreach (string g in groups)
            {
                if (g.Equals("defaults", StringComparison.OrdinalIgnoreCase))
                {
                    mask |= ViridianDefaults;
                    freq = true;
                }
                else if (g.Equals("all", StringComparison.OrdinalIgnoreCase))
                {
                    mask |= HvmParamNames.ViridianFeatureMask & ~NoFreq;
                    freq = true;
                }
                else if (g.Equals("freq", StringComparison.OrdinalIgnoreCase))
                {
                    freq = true;
                }
                else if (s_viridianGroups.TryGetValue(g, out ulong bit))
                {
                    mask |= bit;
                }
            }

            return freq ? mask & ~NoFreq : mask | NoFreq;
        }

        private void CheckTsc(IssueList issues)
        {
            if (_tsc is null || _config.TscModeName is not string mode)
            {
                return;
            }

            TscMode? configured = mode switch
            {
                "default" => TscMode.Default,
                "always_emulate" => TscMode.AlwaysEmulate,
                "native" => TscMode.NeverEmulate,
                "native_paravirt" => TscMode.PvRdtscp,
                _ => null,
            };
            if (configured is TscMode c && c != _tsc.Mode)
            {
                issues.Add(XenIssueCodes.ConfigTscMode, _tsc, Fmt("the configuration's tsc_mode is {0} but X86_TSC_INFO carries mode {1}: the restore applies the stream's mode (handle_x86_tsc_info, xc_domain_set_tsc_info), so the guest does not run with the mode its configuration says", mode, _tsc.Mode));
            }
        }

        private void CheckDeviceModel(IssueList issues)
        {
            if (_emulator is null || _emulatorKind is not EmulatorKind kind || kind == EmulatorKind.Unknown || _typeMismatch)
            {
                return;
            }

            if (_config.Type is "pv")
            {
                issues.Add(XenIssueCodes.ConfigDeviceModel, _emulator, "the configuration is of a PV guest but the stream carries device-model (emulator) records: libxl has no device model to restore them into");
                return;
            }

            EmulatorKind expected = _config.DeviceModelVersion == "qemu_xen_traditional" ? EmulatorKind.QemuTraditional : EmulatorKind.QemuUpstream;
            if (_config.Type is "hvm" && kind != expected)
            {
                issues.Add(XenIssueCodes.ConfigDeviceModel, _emulator, Fmt("the stream's device-model records are for {0} but the configuration's device model is {1}: libxl refuses an emulator id other than the domain's (libxl_stream_read.c)", kind, _config.DeviceModelVersion ?? "qemu_xen (the default)"));
            }
        }

        private static string Fmt(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
