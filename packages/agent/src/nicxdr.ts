/**
 * GuestNicProto version 3 in XDR (open-vm-tools lib/guestRpc/nicinfo.x; docs/protocol/guestrpc.md §5):
 * what vmtoolsd sends with `SetGuestInfo  10 <xdr>` and vCenter shows as the VM's NICs and IPs.
 * We encode NICs and their addresses (origin and status absent, status PREFERRED would be a
 * guess); routes, DNS, WINS and DHCP are sent empty. The decoder reads back what we encode (and
 * what vmtoolsd encodes in those fields), for tests and the simulator.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { XdrError, XdrReader, XdrWriter } from '@vmw9/rpc';
import type { Nic, NicAddress } from './nics.js';

export { XdrError };

export const NIC_INFO_V3 = 3;
const TYPE_IPV4 = 1;
const TYPE_IPV6 = 2;

function ipBytes(a: NicAddress): Buffer {
  if (a.family === 'IPv4') return Buffer.from(a.address.split('.').map(Number));
  // Expand `::` to 8 groups of 16 bits.
  const [head, tail] = a.address.includes('::') ? a.address.split('::') : [a.address, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2);
  return b;
}

export function encodeNicInfoV3(nics: readonly Nic[]): Buffer {
  const w = new XdrWriter();
  w.u32(NIC_INFO_V3).bool(true); // union discriminant, then the pointer to NicInfoV3 is present
  w.u32(nics.length);
  for (const n of nics) {
    w.string(n.mac);
    const addrs = n.addresses.filter((a) => (a.family === 'IPv4' ? isIPv4(a.address) : isIPv6(a.address)));
    w.u32(addrs.length);
    for (const a of addrs) {
      w.u32(a.family === 'IPv4' ? TYPE_IPV4 : TYPE_IPV6).opaque(ipBytes(a));
      w.u32(a.prefix);
      w.bool(false).bool(false); // origin, status: absent
    }
    w.bool(false).bool(false).bool(false).bool(false); // dns, wins, dhcpv4, dhcpv6: absent
  }
  w.u32(0); // routes
  w.bool(false).bool(false).bool(false).bool(false); // dns, wins, dhcpv4, dhcpv6
  return w.bytes();
}

export interface DecodedNic {
  mac: string;
  addresses: NicAddress[];
}

export function decodeNicInfoV3(data: Buffer): DecodedNic[] {
  const r = new XdrReader(data);
  const ver = r.u32();
  if (ver !== NIC_INFO_V3) throw new XdrError(`GuestNicProto version ${ver}, expected 3`, 0);
  if (!r.bool()) throw new XdrError('NicInfoV3 absent', 4);
  const count = r.u32();
  if (count > 16) throw new XdrError(`${count} NICs over the limit 16`, 8);
  const nics: DecodedNic[] = [];
  for (let i = 0; i < count; i++) {
    const mac = r.opaque(18).toString('utf8');
    const at = r.offset;
    const n = r.u32();
    if (n > 2048) throw new XdrError(`${n} addresses over the limit 2048`, at);
    const addresses: NicAddress[] = [];
    for (let j = 0; j < n; j++) {
      const at = r.offset;
      const type = r.u32();
      const raw = r.opaque(255);
      const prefix = r.u32();
      r.optional((o) => o.u32()); // origin
      r.optional((o) => o.u32()); // status
      if (type === TYPE_IPV4 && raw.length === 4)
        addresses.push({ family: 'IPv4', address: [...raw].join('.'), prefix });
      else if (type === TYPE_IPV6 && raw.length === 16)
        addresses.push({ family: 'IPv6', address: ipv6Text(raw), prefix });
      else throw new XdrError(`address type ${type} with ${raw.length} bytes`, at);
    }
    for (const what of ['dns', 'wins', 'dhcpv4', 'dhcpv6']) absent(r, `nic ${what}`);
    nics.push({ mac, addresses });
  }
  const routesAt = r.offset;
  if (r.u32() !== 0) throw new XdrError('routes present: not decoded here', routesAt);
  for (const what of ['dns', 'wins', 'dhcpv4', 'dhcpv6']) absent(r, what);
  r.end();
  return nics;
}

/** An optional (`*T`) we do not read into: we only accept it absent. */
function absent(r: XdrReader, what: string): void {
  const at = r.offset;
  if (r.bool()) throw new XdrError(`${what} present: not decoded here`, at);
}

/** RFC 5952 text (longest run of zero groups as `::`), as os.networkInterfaces() prints it. */
function ipv6Text(b: Buffer): string {
  const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
