/** Facts about this guest the host is told: OS names from /etc/os-release, uptime. */
import { readFile } from 'node:fs/promises';
import { arch, release, uptime } from 'node:os';

export interface OsNames {
  /** INFO_OS_NAME_FULL: the pretty name, e.g. `Ubuntu 22.04.3 LTS`. */
  full: string;
  /** INFO_OS_NAME: VMware's short guest-OS id, e.g. `ubuntu-64`, `other6xlinux-64`. */
  short: string;
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/** VMware guest ids per distribution (the id the VMX expects); the generic `otherNxlinux` otherwise. */
export function vmwareOsId(rel: Record<string, string>, kernel = release(), machine = arch()): string {
  const bits = machine === 'x64' || machine === 'arm64' ? '-64' : '';
  const major = (rel['VERSION_ID'] ?? '').split('.')[0] ?? '';
  const id = rel['ID'] ?? '';
  const byId: Record<string, string> = {
    ubuntu: 'ubuntu',
    debian: major ? `debian${major}` : 'debian',
    centos: major ? `centos${major}` : 'centos',
    rhel: major ? `rhel${major}` : 'rhel',
    fedora: 'fedora',
    sles: major ? `sles${major}` : 'sles',
    opensuse: 'opensuse',
    'opensuse-leap': 'opensuse',
    almalinux: 'almalinux',
    rocky: 'rockylinux',
    photon: 'vmware-photon',
    amzn: major ? `amazonlinux${major}` : 'amazonlinux',
  };
  const base = byId[id];
  if (base) return `${base}${bits}`;
  const k = Number(kernel.split('.')[0]);
  return `other${Number.isFinite(k) && k >= 3 ? k : 3}xlinux${bits}`;
}

export async function osNames(path = '/etc/os-release'): Promise<OsNames> {
  let rel: Record<string, string> = {};
  try {
    rel = parseOsRelease(await readFile(path, 'utf8'));
  } catch {
    // no os-release: the generic names
  }
  return { full: rel['PRETTY_NAME'] ?? `Linux ${release()}`, short: vmwareOsId(rel) };
}

/** INFO_UPTIME: hundredths of a second. */
export const uptimeHundredths = (): number => Math.round(uptime() * 100);
