/**
 * The NICs worth reporting to the host: os.networkInterfaces() less loopback, container and
 * virtual interfaces (exclude-nics), limited to include-nics when set, primary-nics first. This is
 * what makes vCenter show the VM's address rather than docker0's (open-vm-tools #100, #128, #373).
 */
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { GlobList } from './glob.js';

export interface NicAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  prefix: number;
}

export interface Nic {
  name: string;
  /** `xx:xx:xx:xx:xx:xx`, lowercase. */
  mac: string;
  addresses: NicAddress[];
}

export interface NicFilter {
  exclude: readonly string[];
  include: readonly string[];
  primary: readonly string[];
}

/** open-vm-tools sends at most 16 NICs (nicinfo.x: nics<16>). */
export const MAX_NICS = 16;

export function selectNics(
  filter: NicFilter,
  all: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): Nic[] {
  const exclude = new GlobList(filter.exclude);
  const include = new GlobList(filter.include);
  const primary = new GlobList(filter.primary);
  const nics: Nic[] = [];
  for (const [name, infos] of Object.entries(all)) {
    if (!infos || exclude.matches(name)) continue;
    if (!include.empty && !include.matches(name)) continue;
    const addresses = infos
      .filter((i) => !i.internal)
      .map((i) => ({
        family: i.family,
        address: i.address.replace(/%.*$/, ''),
        prefix: Number(i.cidr?.split('/')[1] ?? (i.family === 'IPv4' ? 32 : 128)),
      }));
    if (addresses.length === 0) continue;
    nics.push({ name, mac: (infos[0]?.mac ?? '00:00:00:00:00:00').toLowerCase(), addresses });
  }
  const rank = (n: Nic) => {
    const i = primary.indexOf(n.name);
    return i < 0 ? primary.patterns.length : i;
  };
  // Stable: primary-nics order first, then the system's order.
  return nics
    .map((n, i) => ({ n, i }))
    .sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i)
    .map((x) => x.n)
    .slice(0, MAX_NICS);
}

/** The address shown as the VM's IP: the first IPv4 (not link-local) of the first NIC that has one. */
export function primaryIp(nics: readonly Nic[]): string | null {
  for (const n of nics)
    for (const a of n.addresses)
      if (a.family === 'IPv4' && !a.address.startsWith('169.254.')) return a.address;
  for (const n of nics)
    for (const a of n.addresses)
      if (a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80')) return a.address;
  return null;
}

/** The NICs as text, one line each: `name mac addr/prefix…` (kmesg, guestinfo.vmw9.nics). */
export function nicsText(nics: readonly Nic[]): string {
  return nics
    .map((n) => [n.name, n.mac, ...n.addresses.map((a) => `${a.address}/${a.prefix}`)].join(' '))
    .join('\n');
}
