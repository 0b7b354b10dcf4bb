#!/usr/bin/env python3
"""Builds src/XenMigration.Core/Qemu/vmstate-7.2.json, the built-in VMState table, from the JSON VM
descriptions embedded in real QEMU streams (tests/fixtures/qemu/*.qevm, made by make-fixtures.sh).

Device descriptions are keyed by idstr base name (the part after the last '/', so a PCI device's
address does not matter) and version. The subsections a stream happened to send are moved out of
the device into one table by name: the reader looks a subsection up by the name the stream gives.
Usage: tools/harvest-vmstate.py [fixture-dir] [output]"""
import glob, json, os, struct, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests/fixtures/qemu")
output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "src/XenMigration.Core/Qemu/vmstate-7.2.json")

def description(data):
    # 0x06, be32 length, JSON that ends exactly at the end of the file (docs/formats §Q9)
    for p in range(len(data) - 6, 7, -1):
        if data[p] == 6:
            (n,) = struct.unpack(">I", data[p + 1:p + 5])
            if p + 5 + n == len(data) and data[p + 5:p + 6] == b"{":
                return json.loads(data[p + 5:])
    return None

subsections = {}
def strip(desc):
    out = {k: v for k, v in desc.items() if k in ("vmsd_name", "version", "fields")}
    out["fields"] = [strip_field(f) for f in desc.get("fields", [])]
    for sub in desc.get("subsections", []):
        s = strip(sub)
        subsections.setdefault(s["vmsd_name"], s)
    return out

def strip_field(field):
    f = dict(field)
    if "struct" in f:
        f["struct"] = strip(f["struct"])
    if f.get("type") == "tmp" and "fields" in f:
        f["fields"] = [strip_field(x) for x in f["fields"]]
    return f

devices = {}
for path in sorted(glob.glob(os.path.join(fixtures, "*.qevm"))):
    desc = description(open(path, "rb").read())
    if desc is None:
        continue
    for dev in desc["devices"]:
        if "vmsd_name" not in dev:
            continue            # old-style (save_state) device: raw bytes only
        base = dev["name"].rsplit("/", 1)[-1]
        d = strip(dev)
        d["idstr"] = base
        key = (base, d["version"])
        if key in devices and devices[key]["fields"] != d["fields"]:
            print(f"warning: {base} v{d['version']}: {os.path.basename(path)} differs; keeping the first", file=sys.stderr)
            continue
        devices.setdefault(key, d)

# Devices a TCG guest never saves, with their QEMU 7.2 layout written out by hand.
extra = [{"idstr": "kvmclock", "vmsd_name": "kvmclock", "version": 1,
          "fields": [{"name": "clock", "type": "uint64", "size": 8}]}]
for d in extra:
    devices.setdefault((d["idstr"], d["version"]), d)

table = {"source": "QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18) JSON VM descriptions of tests/fixtures/qemu",
         "devices": [devices[k] for k in sorted(devices)],
         "subsections": [subsections[k] for k in sorted(subsections)]}
with open(output, "w") as f:
    json.dump(table, f, separators=(",", ":"))
print(f"{len(devices)} devices, {len(subsections)} subsections -> {output}")
