/**
 * The simulator reads its protocol facts from @vmw9/backdoor (one home each) and keeps its old
 * export names; its per-host state stays per host.
 */
import {
  COOKIE_FLAG as BACKDOOR_COOKIE_FLAG,
  GUESTINFO_TYPES,
  PROTOCOL_RPCI,
  PROTOCOL_TCLO,
  RPCI_UNKNOWN_COMMAND,
} from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import {
  COOKIE_FLAG,
  GuestInfoType,
  PROTO_RPCI,
  PROTO_TCLO,
  SimBackdoorPort,
  VmxHost,
} from '../src/index.js';
import { rpc } from './guest-msg.js';

describe('shared protocol facts', () => {
  it('PROTO_RPCI, PROTO_TCLO and COOKIE_FLAG are the backdoor package’s', () => {
    expect(PROTO_RPCI).toBe(PROTOCOL_RPCI);
    expect(PROTO_TCLO).toBe(PROTOCOL_TCLO);
    expect(COOKIE_FLAG).toBe(BACKDOOR_COOKIE_FLAG);
  });

  it('GuestInfoType names every SetGuestInfo type id', () => {
    for (const [name, id] of Object.entries(GUESTINFO_TYPES)) expect(GuestInfoType[id]).toBe(name);
    expect(GuestInfoType[0]).toBeUndefined();
    expect(GuestInfoType[12]).toBeUndefined();
  });

  it('SetGuestInfo stores by type name; text types lose their NUL, unknown types are refused', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    expect(await rpc(port, Buffer.from('SetGuestInfo  6 linux\0'))).toBe('1 ');
    expect(host.rpci.guestInfo.get('OS_NAME')?.toString()).toBe('linux');
    expect(await rpc(port, Buffer.from('SetGuestInfo  8 \0\0'))).toBe('1 ');
    expect(host.rpci.guestInfo.get('MEMORY')).toEqual(Buffer.from([0, 0]));
    expect(await rpc(port, Buffer.from('SetGuestInfo  12 x\0'))).toBe('0 Invalid guest info type');
    expect(await rpc(port, 'no-such-command')).toBe(`0 ${RPCI_UNKNOWN_COMMAND}`);
  });
});

describe('per-host state', () => {
  it('a garbage fault armed on one host leaves another host’s replies alone', async () => {
    const a = new VmxHost();
    const b = new VmxHost();
    const pa = new SimBackdoorPort(a);
    const pb = new SimBackdoorPort(b);
    a.arm({ kind: 'garbage', step: 'SENDSIZE', protocol: 'RPCI' });
    expect(await rpc(pb, 'info-set guestinfo.k v')).toBe('1 ');
    const garbled = await rpc(pa, 'info-set guestinfo.k v');
    expect(garbled.startsWith('1 ') || garbled.startsWith('0 ')).toBe(false);
    expect(await rpc(pb, 'info-get guestinfo.k')).toBe('1 v');
    expect(await rpc(pa, 'info-get guestinfo.k')).toBe('1 v');
  });
});
