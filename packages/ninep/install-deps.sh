#!/usr/bin/env bash
# What the ninep peer suites and benchmark need besides the QEMU harness (tools/qemu-harness):
# diod (the reference 9P2000.L server, and its diodls/diodcat clients). Debian packages only;
# idempotent and quick when done.
set -euo pipefail
command -v diod >/dev/null && command -v diodls >/dev/null && command -v diodcat >/dev/null && {
  echo "ninep peers: diod ready"
  exit 0
}
if [ "$(id -u)" != 0 ]; then echo "ninep peers: missing diod (apt-get install diod as root)"; exit 1; fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends diod
# Debian may start diod as a service; the tests run their own instances.
systemctl disable --now diod >/dev/null 2>&1 || true
echo "ninep peers: installed diod"
