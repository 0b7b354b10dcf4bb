#!/usr/bin/env bash
# Peak working set (max RSS, from /usr/bin/time) of each cmdlet on the benchmark's 1 GiB inputs,
# next to the engine with the module imported and nothing else run. The inputs are the ones the
# benchmark program writes (run it once first); they must be in DIR.
# Usage: bench/peak-memory.sh [DIR]      (default: $TMPDIR/xenmigration-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}/xenmigration-bench}
module=./out/XenMigration/XenMigration.psd1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() {   # name, PowerShell command
    local kb
    kb=$( { /usr/bin/time -f '%M' dotnet pwsh -NoProfile -NonInteractive -Command "Import-Module $module; $2" >/dev/null; } 2>&1 | tail -n 1)
    printf '| %s | %d |\n' "${1//|/\\|}" $(( kb / 1024 ))
}

echo '| Run | Peak working set (MiB) |'
echo '|---|---:|'
measure 'engine + module, nothing run (baseline)' '$null'
for f in hvm-1g-1024.libxc hvm-1g-1.libxc; do
    measure "Get-XenStreamRecord $f | Out-Null" "Get-XenStreamRecord $dir/$f | Out-Null"
    measure "Test-XenStream $f" "Test-XenStream $dir/$f"
done
measure "Get-XenHvmContext hvm-1g-1.libxc | Out-Null" "Get-XenHvmContext $dir/hvm-1g-1.libxc | Out-Null"
measure "Get-QemuDeviceState qemu-1g.qevm | Out-Null" "Get-QemuDeviceState $dir/qemu-1g.qevm | Out-Null"
measure "Get-QemuMemory qemu-1g.qevm -Address 0x3FFFF000" "Get-QemuMemory $dir/qemu-1g.qevm -Address 0x3FFFF000 | Out-Null"
measure "Get-QemuMemory qemu-1g.qevm -Address 0 -Length 256MB" "Get-QemuMemory $dir/qemu-1g.qevm -Address 0 -Length 256MB | Out-Null"
mkfifo "$out/pipe"
cat "$dir/hvm-1g-1.libxc" > "$out/pipe" &
measure 'Test-XenStream hvm-1g-1.libxc through a named pipe' "Test-XenStream $out/pipe"
wait
measure 'ConvertTo-XenStreamV2 hvm-1g.legacy' "ConvertTo-XenStreamV2 $dir/hvm-1g.legacy -Destination $out/v2.save -GuestType Hvm"
measure 'Import-XenstoreDump xenstore-1000000.dump | Out-Null' "Import-XenstoreDump $dir/xenstore-1000000.dump | Out-Null"
measure 'Import-XenstoreDump xenstore-1000000.dump | Export-XenstoreDump' "Import-XenstoreDump $dir/xenstore-1000000.dump | Export-XenstoreDump $out/copy.dump"
for f in hvm-1g-1024.libxc hvm-1g-1.libxc; do
    measure "Get-XenStreamRecord $f | Export-XenStream" "Get-XenStreamRecord $dir/$f | Export-XenStream $out/rt.save -Force"
done
