/** Guest info as the host receives it, checked against this machine's real interfaces and files. */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces, uptime } from 'node:os';
import { VmxHost } from '@vmw9/vmx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeNicInfoV3,
  encodeNicInfoV3,
  guestInfoService,
  type Nic,
  primaryIp,
  selectNics,
} from '../src/index.js';
import { cleanup, startOnSim, waitFor } from './helpers.js';

afterEach(cleanup);

/** The default exclusions, written out independently of the code under test. */
const VIRTUAL =
  /^(lo$|docker|veth|br-|cni|flannel|cali|cilium|weave|vxlan|kube-|lxc|podman|virbr|vnet|tun|tap|zt)/;

describe('what the host receives', () => {
  it('hostname, OS names, uptime, disks and NICs (XDR V3) match this machine', async () => {
    const s = await startOnSim();
    const gi = s.host.rpci.guestInfo;
    await waitFor('guest info', () => gi.has('DNS_NAME') && gi.has('IPADDRESS_V3') && gi.has('UPTIME'));
    expect(gi.get('DNS_NAME')!.toString()).toBe(hostname());
    let pretty: string | undefined;
    try {
      pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    } catch {}
    if (pretty) expect(gi.get('OS_NAME_FULL')!.toString()).toBe(pretty);
    expect(gi.get('OS_NAME')!.toString()).toMatch(/^[a-z0-9-]+-64$|^[a-z0-9-]+$/);
    const up = Number(gi.get('UPTIME')!.toString());
    expect(Math.abs(up - uptime() * 100)).toBeLessThan(500);
    const disks = JSON.parse(gi.get('DISK_INFO_JSON')!.toString()) as { version: string; disks: unknown[] };
    expect(disks.version).toBe('1');

    const expected = Object.entries(networkInterfaces())
      .filter(([name, infos]) => !VIRTUAL.test(name) && infos!.some((i) => !i.internal))
      .map(([, infos]) => ({
        mac: infos![0]!.mac,
        addresses: infos!
          .filter((i) => !i.internal)
          .map((i) => ({ family: i.family, address: i.address, prefix: Number(i.cidr!.split('/')[1]) })),
      }));
    // Binary SetGuestInfo arrives byte for byte (XDR V3 ends with zero words).
    const got = gi.get('IPADDRESS_V3')!;
    expect(got.length % 4).toBe(0);
    expect(decodeNicInfoV3(got)).toEqual(expected);
  });

  it('falls back to the older NIC type when the host refuses V3, and keeps to it', async () => {
    const host = new VmxHost();
    const handle = host.rpci.handle.bind(host.rpci);
    let refused = 0;
    host.rpci.handle = (raw: Buffer) => {
      if (raw.subarray(0, 17).toString('latin1') !== 'SetGuestInfo  10 ') return handle(raw);
      refused++;
      return Buffer.from('0 Unsupported');
    };
    const s = await startOnSim({ host });
    const gi = s.host.rpci.guestInfo;
    await waitFor('NICs over type 9', () => gi.has('IPADDRESS_V2'));
    expect(gi.has('IPADDRESS_V3')).toBe(false);
    // The same GuestNicProto V3 XDR, carried by the older type (guestInfoServer.c falls back so).
    const nics = decodeNicInfoV3(gi.get('IPADDRESS_V2')!);
    expect(Array.isArray(nics)).toBe(true);
    // A host reset makes the agent report everything again: with type 9, not V3 again.
    s.host.reset();
    await waitFor(
      'a second type-9 report',
      () =>
        s.host.rpci.history.filter((h) => h.request.subarray(0, 16).toString('latin1') === 'SetGuestInfo  9 ')
          .length >= 2,
    );
    expect(refused).toBe(1);
  });

  it('sends only what changed, and everything again after a host reset', async () => {
    const s = await startOnSim();
    const sent = (type: number) =>
      s.host.rpci.history.filter((h) => h.request.toString('latin1').startsWith(`SetGuestInfo  ${type} `))
        .length;
    await waitFor('first report', () => sent(1) === 1 && sent(7) >= 1);
    await s.agent.service(guestInfoService).reporter.report('test');
    expect(sent(1)).toBe(1); // hostname unchanged: not sent again
    expect(sent(7)).toBeGreaterThanOrEqual(2); // uptime: every time
    s.host.reset();
    await waitFor('hostname again', () => sent(1) === 2);
  });
});

describe('NIC selection', () => {
  const iface = (address: string, mac: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false) => ({
    address,
    netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::',
    family,
    mac,
    internal,
    cidr: `${address}/${family === 'IPv4' ? 24 : 64}`,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  });
  const all = {
    lo: [iface('127.0.0.1', '00:00:00:00:00:00', 'IPv4', true)],
    docker0: [iface('172.17.0.1', '02:42:00:00:00:01')],
    veth12ab: [iface('169.254.3.3', '02:42:00:00:00:02')],
    cali8f3: [iface('10.244.0.1', 'ee:ee:ee:ee:ee:ee')],
    eth0: [
      iface('192.168.1.20', '00:50:56:AA:BB:CC'),
      iface('fe80::250:56ff:feaa:bbcc', '00:50:56:AA:BB:CC', 'IPv6'),
    ],
    ens192: [iface('10.0.0.5', '00:50:56:00:00:01')],
  } as unknown as Parameters<typeof selectNics>[1];
  const defaults = { exclude: ['lo', 'docker*', 'veth*', 'cali*'], include: [], primary: [] };

  it('leaves out loopback, container and virtual interfaces by default', () => {
    const nics = selectNics(defaults, all);
    expect(nics.map((n) => n.name)).toEqual(['eth0', 'ens192']);
    expect(nics[0]!.mac).toBe('00:50:56:aa:bb:cc');
    expect(primaryIp(nics)).toBe('192.168.1.20');
  });

  it('include-nics limits, primary-nics orders', () => {
    expect(selectNics({ ...defaults, include: ['ens*'] }, all).map((n) => n.name)).toEqual(['ens192']);
    const nics = selectNics({ ...defaults, primary: ['ens*'] }, all);
    expect(nics.map((n) => n.name)).toEqual(['ens192', 'eth0']);
    expect(primaryIp(nics)).toBe('10.0.0.5');
    expect(selectNics({ exclude: [], include: [], primary: [] }, all).map((n) => n.name)).toContain(
      'docker0',
    );
  });

  it('the XDR V3 encoding decodes back, IPv6 included', () => {
    const nics: Nic[] = [
      {
        name: 'eth0',
        mac: '00:50:56:aa:bb:cc',
        addresses: [
          { family: 'IPv4', address: '192.168.1.20', prefix: 24 },
          { family: 'IPv6', address: 'fe80::250:56ff:feaa:bbcc', prefix: 64 },
          { family: 'IPv6', address: '2001:db8::1', prefix: 48 },
        ],
      },
    ];
    const xdr = encodeNicInfoV3(nics);
    // The union discriminant (3), the pointer (1), one NIC, the MAC as an XDR string.
    expect(xdr.subarray(0, 16)).toEqual(Buffer.from([0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 17]));
    expect(xdr.length % 4).toBe(0);
    expect(decodeNicInfoV3(xdr)).toEqual([{ mac: nics[0]!.mac, addresses: nics[0]!.addresses }]);
    expect(() => decodeNicInfoV3(xdr.subarray(0, xdr.length - 4))).toThrow(/truncated/);
  });
});
