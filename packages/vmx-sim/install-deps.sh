#!/usr/bin/env bash
# What the vmx-sim peer suites need: open-vm-tools 12 (the real guest tools under test),
# open-vm-tools-desktop (vmusr's dndcp plugin, for copy/paste), Xvfb and xclip (its X display
# and the X side of the clipboard), binutils (vmx-trap runs objdump to find CPUID sites on
# machines without CPUID faulting) and fuse3 (fusermount3, for vmhgfs-fuse's mounts of the
# simulated host's shared folders).
# Debian packages only; idempotent and quick when done.
set -euo pipefail
need=()
command -v vmware-rpctool >/dev/null && command -v vmtoolsd >/dev/null || need+=(open-vm-tools)
dpkg-query -W -f='${Status}' open-vm-tools-desktop 2>/dev/null | grep -q 'ok installed' || need+=(open-vm-tools-desktop)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xclip >/dev/null || need+=(xclip)
command -v objdump >/dev/null || need+=(binutils)
command -v fusermount3 >/dev/null || need+=(fuse3)
[ ${#need[@]} -eq 0 ] && { echo "vmx-sim peers: open-vm-tools(-desktop), Xvfb, xclip, binutils and fuse3 ready"; exit 0; }
if [ "$(id -u)" != 0 ]; then echo "vmx-sim peers: missing ${need[*]} (apt-get install them as root)"; exit 1; fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
# The packages start vmtoolsd as a service where systemd runs; tests start their own under vmx-trap.
systemctl disable --now open-vm-tools >/dev/null 2>&1 || true
echo "vmx-sim peers: installed ${need[*]}"
