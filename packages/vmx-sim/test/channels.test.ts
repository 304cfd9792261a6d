/** GuestMsg channels: the protocol as real guests drive it, and malformed guest input. */
import { BDOOR_MAGIC, BDOORHB_PORT, MessageStatus as S, MessageType as T } from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import { SimBackdoorPort, VmxHost } from '../src/index.js';
import { close, lb, open, RPCI, receive, rpc, send, status } from './guest-msg.js';

const setup = (opts?: ConstructorParameters<typeof VmxHost>[0]) => {
  const host = new VmxHost(opts);
  return { host, port: new SimBackdoorPort(host) };
};

describe('RPCI round trips', () => {
  for (const hb of [true, false]) {
    const path = hb ? 'high bandwidth' : 'the 4-byte path';
    it.each([0, 1, 3, 4, 5, 60 * 1024])(`info-set then info-get a %i-byte value over ${path}`, async (n) => {
      const { host, port } = setup();
      const value = Buffer.alloc(n, 'v').toString();
      expect(await rpc(port, `info-set guestinfo.k ${value}`, { hb })).toBe('1 ');
      expect(await rpc(port, 'info-get guestinfo.k', { hb })).toBe(`1 ${value}`);
      const hbCalls = host.log.entries().filter((e) => e.op !== 'lb').length;
      // The request itself is never empty, so it goes over HB whenever HB is used.
      expect(hbCalls > 0).toBe(hb);
    });
  }

  it('strips one trailing NUL and takes the value after a single space', async () => {
    const { host, port } = setup();
    expect(await rpc(port, Buffer.from('info-set guestinfo.a  two  spaces\0'))).toBe('1 ');
    expect(host.rpci.getGuestinfo('guestinfo.a')).toBe(' two  spaces');
  });

  it('answers Unknown command, No value found, and the info-set argument error', async () => {
    const { port } = setup();
    expect(await rpc(port, 'no.such.command')).toBe('0 Unknown command');
    expect(await rpc(port, 'info-get guestinfo.missing')).toBe('0 No value found');
    expect(await rpc(port, 'info-set guestinfo.k')).toBe('0 Two and exactly two arguments expected');
    expect(await rpc(port, 'info-set other.key v')).toMatch(/^0 /);
  });

  it('records version, capabilities, statechange, SetGuestInfo and log lines', async () => {
    const { host, port } = setup();
    for (const m of [
      'tools.set.versiontype 12352 4',
      'tools.capability.statechange ',
      'tools.capability.resolution_set 1',
      'tools.os.statechange.status 1 1',
      'SetGuestInfo  1 myhost\0',
      'log hello there',
      'vmx.capability.unified_loop toolbox\0',
    ]) {
      expect(await rpc(port, Buffer.from(m))).toBe('1 ');
    }
    expect(host.rpci.toolsVersion).toEqual({ version: 12352, type: 4 });
    expect(host.rpci.capabilities.get('statechange')).toBe('');
    expect(host.rpci.capabilities.get('resolution_set')).toBe('1');
    expect(host.rpci.stateChanges).toEqual([{ success: true, state: 1 }]);
    expect(host.rpci.guestInfo.get('DNS_NAME')?.toString()).toBe('myhost');
    expect(host.rpci.logs).toEqual(['hello there']);
    expect([...host.rpci.unifiedLoop]).toEqual(['toolbox']);
  });

  it('refuses a guest→host message over 64 KiB at SENDSIZE, before any payload', async () => {
    // GUESTMSG_MAX_IN_SIZE, on a host that keeps HGFS to legacy packets.
    const { port } = setup({ hgfs: { largePackets: false } });
    const ch = await open(port, RPCI);
    expect(status(await port.call(lb(T.SENDSIZE, ch, 65536)))).toBe(S.SUCCESS | S.HB);
    expect(status(await port.call(lb(T.SENDSIZE, ch, 65537)))).toBe(0);
    await expect(send(port, ch, Buffer.alloc(65537, 'x'))).rejects.toThrow(/SENDSIZE failed/);
  });

  it('with large HGFS packets (the default), takes `f ` + 522240 bytes, and a TCLO `OK ` + 522240, and refuses one byte more', async () => {
    const { host, port } = setup();
    // The longer of the two: the guest's answer to the host's `f ` carrying a large read.
    const limit = 3 + 522240;
    expect(host.guestMessageLimit()).toBe(limit);
    const ch = await open(port, RPCI);
    expect(status(await port.call(lb(T.SENDSIZE, ch, limit)))).toBe(S.SUCCESS | S.HB);
    expect(status(await port.call(lb(T.SENDSIZE, ch, limit + 1)))).toBe(0);
  });

  it('sends a 1 MiB host→guest message over both paths', async () => {
    const { host, port } = setup();
    const big = Buffer.alloc(1 << 20, 'b').toString();
    host.rpci.setGuestinfo('guestinfo.big', big);
    for (const hb of [true, false]) {
      const mark = host.log.mark();
      expect((await rpc(port, 'info-get guestinfo.big', { hb })).length).toBe(2 + (1 << 20));
      // 4-byte path: one RECVPAYLOAD per word.
      if (!hb) expect(host.log.counts(mark)['MESSAGE.RECVPAYLOAD']).toBe(Math.ceil((2 + (1 << 20)) / 4));
    }
  });

  it('works on a host without high bandwidth', async () => {
    const { host, port } = setup({ hb: false });
    expect(await rpc(port, 'info-set guestinfo.x y')).toBe('1 ');
    expect(host.log.entries().every((e) => e.op === 'lb')).toBe(true);
  });
});

describe('channels', () => {
  it('allocates the lowest free id with fresh cookies, and frees it on CLOSE', async () => {
    const { port } = setup();
    const a = await open(port, RPCI);
    const b = await open(port, RPCI);
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(a.hi !== b.hi || a.lo !== b.lo).toBe(true);
    expect(await close(port, a)).toBe(S.SUCCESS);
    expect((await open(port, RPCI)).id).toBe(0);
  });

  it('enforces the channel limit', async () => {
    const { port } = setup({ maxChannels: 128 });
    for (let i = 0; i < 128; i++) await open(port, RPCI);
    expect(status(await port.call(lb(T.OPEN, null, (RPCI | 0x80000000) >>> 0)))).toBe(0);
  });

  it('recycles a channel idle past the limit when the table is full (a guest died without CLOSE)', async () => {
    const { port } = setup({ maxChannels: 2, idleRecycleMs: 0 });
    await open(port, RPCI);
    await open(port, RPCI);
    expect((await open(port, RPCI)).id).toBe(0);
  });

  it('closes every channel on a host reset', async () => {
    const { host, port } = setup();
    const ch = await open(port, RPCI);
    host.reset();
    expect(status(await port.call(lb(T.SENDSIZE, ch, 4)))).toBe(0);
  });
});

describe('malformed guest input: answered with status 0, never a crash', () => {
  it('wrong cookies, wrong channel id, unknown subcommand', async () => {
    const { port } = setup();
    const ch = await open(port, RPCI);
    expect(status(await port.call(lb(T.SENDSIZE, { ...ch, lo: (ch.lo ^ 1) >>> 0 }, 4)))).toBe(0);
    expect(status(await port.call(lb(T.SENDSIZE, { ...ch, hi: (ch.hi ^ 1) >>> 0 }, 4)))).toBe(0);
    expect(status(await port.call(lb(T.SENDSIZE, { ...ch, id: 77 }, 4)))).toBe(0);
    expect(status(await port.call(lb(9, ch)))).toBe(0);
    expect(await rpc(port, 'info-set guestinfo.still works')).toBe('1 ');
  });

  it('payload before size, payload beyond size, out-of-order receive steps', async () => {
    const { port } = setup();
    const ch = await open(port, RPCI);
    expect(status(await port.call(lb(T.SENDPAYLOAD, ch, 0x41414141)))).toBe(0);
    expect(status(await port.call(lb(T.RECVPAYLOAD, ch, 1)))).toBe(0);
    expect(status(await port.call(lb(T.RECVSTATUS, ch, 1)))).toBe(0);
    expect(status(await port.call(lb(T.SENDSIZE, ch, 2)))).toBe(S.SUCCESS | S.HB);
    expect(status(await port.call(lb(T.SENDPAYLOAD, ch, 0x4141)))).toBe(S.SUCCESS);
    expect(status(await port.call(lb(T.SENDPAYLOAD, ch, 0x4141)))).toBe(0);
    // The two-byte message "AA" was complete: an Unknown command reply is waiting.
    expect((await receive(port, ch))?.toString()).toBe('0 Unknown command');
  });

  it('an HB OUT whose size differs from SENDSIZE, or with bad cookies, is refused', async () => {
    const { port } = setup();
    const ch = await open(port, RPCI);
    await port.call(lb(T.SENDSIZE, ch, 10));
    const hb = (ebx: number, lo: number, hi: number) => ({
      eax: BDOOR_MAGIC,
      ebx,
      ecx: 0,
      edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
      esi: 0,
      edi: lo,
      ebp: hi,
    });
    expect((await port.hbOut(hb(0x10000, ch.lo, ch.hi), Buffer.alloc(9))).ebx >>> 16).toBe(0);
    expect((await port.hbOut(hb(0x10000, (ch.lo ^ 1) >>> 0, ch.hi), Buffer.alloc(10))).ebx >>> 16).toBe(0);
    expect((await port.hbOut(hb(0x10001, ch.lo, ch.hi), Buffer.alloc(10))).ebx >>> 16).toBe(0);
    expect((await port.hbOut(hb(0x10000, ch.lo, ch.hi), Buffer.alloc(10))).ebx >>> 16).toBe(S.SUCCESS);
  });

  it('an HB IN with nothing announced is refused', async () => {
    const { port } = setup();
    const ch = await open(port, RPCI);
    const r = await port.hbIn(
      {
        eax: BDOOR_MAGIC,
        ebx: 0x10000,
        ecx: 0,
        edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
        esi: ch.hi,
        edi: 0,
        ebp: ch.lo,
      },
      Buffer.alloc(8),
    );
    expect(r.ebx >>> 16).toBe(0);
  });

  it('a binary, NUL-filled or huge-numbered request is just an unknown command', async () => {
    const { port } = setup();
    expect(await rpc(port, Buffer.from([0xff, 0xfe, 0, 1, 2, 0x20, 0]))).toBe('0 Unknown command');
    expect(await rpc(port, Buffer.alloc(100, 0))).toBe('0 Unknown command');
    expect(await rpc(port, 'SetGuestInfo  999999999999 x')).toMatch(/^0 /);
  });
});

describe('binary SetGuestInfo', () => {
  it('keeps a binary payload byte for byte, trailing zeros included; text types lose one NUL', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    const xdr = Buffer.from([0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(await rpc(port, Buffer.concat([Buffer.from('SetGuestInfo  10 '), xdr]))).toBe('1 ');
    expect(host.rpci.guestInfo.get('IPADDRESS_V3')).toEqual(xdr);
    expect(await rpc(port, Buffer.from('SetGuestInfo  1 myhost\0'))).toBe('1 ');
    expect(host.rpci.guestInfo.get('DNS_NAME')?.toString()).toBe('myhost');
  });
});
