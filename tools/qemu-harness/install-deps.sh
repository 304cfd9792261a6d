#!/bin/sh
# Installs (Debian packages only) what @vmw9/qemu-harness needs to boot a TCG guest:
#   qemu-system-x86_64, a /boot/vmlinuz-<ver> whose /lib/modules/<ver> has the 9p module,
#   a static busybox, cpio, and gcc + static libc to build the iopriv wrapper.
# Idempotent: exits 0 at once when everything is there. Exit 1 when something is
# missing and we are not root (nothing is installed then).
set -eu

missing=""      # human-readable list
pkgs=""         # Debian packages that provide the missing pieces

have_kernel() {
    for k in /boot/vmlinuz-*; do
        [ -e "$k" ] || continue
        ver=${k#/boot/vmlinuz-}
        for m in /lib/modules/"$ver"/kernel/fs/9p/9p.ko*; do
            [ -e "$m" ] && return 0
        done
    done
    return 1
}

# busybox-static puts a static /bin/busybox; the dynamic "busybox" package uses the same
# path, and a dynamic one cannot run inside the initramfs, so ask dpkg which one it is.
have_static_busybox() {
    [ -x /bin/busybox ] || return 1
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'
    else
        ! grep -q 'ld-linux' /bin/busybox
    fi
}

command -v qemu-system-x86_64 >/dev/null 2>&1 || { missing="$missing qemu-system-x86_64"; pkgs="$pkgs qemu-system-x86"; }
have_kernel || { missing="$missing kernel(/boot/vmlinuz-*+9p.ko)"; pkgs="$pkgs linux-image-amd64"; }
have_static_busybox || { missing="$missing static-busybox"; pkgs="$pkgs busybox-static"; }
command -v cpio >/dev/null 2>&1 || { missing="$missing cpio"; pkgs="$pkgs cpio"; }
# iopriv is compiled on the host with `gcc -O2 -static`, which needs libc.a (libc6-dev).
command -v gcc >/dev/null 2>&1 || { missing="$missing gcc"; pkgs="$pkgs gcc"; }
ls /usr/lib/*/libc.a >/dev/null 2>&1 || { missing="$missing libc.a"; pkgs="$pkgs libc6-dev"; }

[ -z "$pkgs" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "qemu-harness: missing:$missing" >&2
    echo "qemu-harness: as root run: apt-get update && apt-get install -y --no-install-recommends$pkgs" >&2
    exit 1
fi

echo "qemu-harness: installing$pkgs (missing:$missing)" >&2
apt-get update
# shellcheck disable=SC2086  # word splitting of $pkgs is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs
