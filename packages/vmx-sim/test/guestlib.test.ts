/** The simulated host's VMGuestLib: what it answers, in both layouts, and what the console changes. */
import { decodeGuestLibV2, decodeGuestLibV3, GUESTLIB_V2_SIZE } from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import { GuestLibHost, runConsoleCommand, SimBackdoorPort, VmxHost } from '../src/index.js';
import { close, open, RPCI, receive, send } from './guest-msg.js';

/** One RPCI exchange over the simulated backdoor, bytes in and out, as libguestlib makes it. */
async function ask(host: VmxHost, request: string): Promise<Buffer> {
  const port = new SimBackdoorPort(host);
  const ch = await open(port, RPCI);
  await send(port, ch, Buffer.from(request));
  const reply = await receive(port, ch);
  await close(port, ch);
  return reply!;
}

const ok = (b: Buffer) => {
  expect(b.subarray(0, 2).toString()).toBe('1 ');
  return b.subarray(2);
};

describe('the simulated host VMGuestLib', () => {
  it('answers guestlib.info.get 3 with every statistic, the ones set and the ESX-like defaults', async () => {
    const host = new VmxHost({
      facts: { memoryMB: 2048, cpuMhz: 3000 },
      guestlib: { sessionId: 0x1234n, stats: { MEM_BALLOONED_MB: 300 } },
    });
    const d = decodeGuestLibV3(ok(await ask(host, 'guestlib.info.get 3')));
    expect(d).toMatchObject({ version: 3, sessionId: 0x1234n, statCount: 38 });
    expect(d.stats).toMatchObject({
      MEM_BALLOONED_MB: 300,
      MEM_LIMIT_MB: 0xffffffff,
      HOST_MHZ: 3000,
      MEM_SHARES: 20480,
      MEM_TARGET_SIZE_MB: 2048n,
      RESOURCE_POOL_PATH: '/',
    });
    expect('HOST_MEM_PHYS_MB' in d.stats).toBe(false);
    expect(host.guestlib.served[3]).toBe(1);
  });

  it('answers guestlib.info.get 2 with the 669-byte V2 struct', async () => {
    const host = new VmxHost({
      guestlib: { sessionId: 9n, stats: { MEM_LIMIT_MB: 1024, CPU_USED_MS: 77n } },
    });
    const reply = ok(await ask(host, 'guestlib.info.get 2'));
    expect(reply.length).toBe(GUESTLIB_V2_SIZE);
    expect(decodeGuestLibV2(reply).stats).toMatchObject({ MEM_LIMIT_MB: 1024, CPU_USED_MS: 77n });
  });

  it('plays a V2 host ("Unsupported version" on 3) and a V3 host naming its version past 3', async () => {
    const v2 = new VmxHost({ guestlib: { maxVersion: 2 } });
    expect((await ask(v2, 'guestlib.info.get 3')).toString()).toBe('0 Unsupported version');
    expect(ok(await ask(v2, 'guestlib.info.get 2')).length).toBe(GUESTLIB_V2_SIZE);
    expect((await ask(new VmxHost(), 'guestlib.info.get 4')).toString()).toMatch(/^0 3:/);
  });

  it('with the Guest API off answers Unknown command, exactly', async () => {
    const host = new VmxHost({ guestlib: { enabled: false } });
    expect((await ask(host, 'guestlib.info.get 3')).toString()).toBe('0 Unknown command');
    expect((await ask(host, 'guestlib.stat.get text session')).toString()).toBe('0 Unknown command');
  });

  it('answers guestlib.stat.get: the category list, text session, and refuses the rest', async () => {
    const host = new VmxHost({ guestlib: { sessionId: 42n } });
    expect((await ask(host, 'guestlib.stat.get   ')).toString()).toBe('1 session\n');
    expect((await ask(host, 'guestlib.stat.get text session ')).toString()).toBe('1 id = 42\n');
    expect((await ask(host, 'guestlib.stat.get json vscsi scsi0:0')).toString()).toMatch(/^0 /);
  });

  it('refuses a value out of range, an unknown name and session 0', () => {
    const gl = new GuestLibHost({ memoryMB: 1024, cpuMhz: 1000 }, { sessionId: 1n });
    expect(() => gl.set('MEM_LIMIT_MB', '4294967296')).toThrow(RangeError);
    expect(() => gl.set('MEM_LIMIT', '1')).toThrow(/no guestlib statistic "MEM_LIMIT"/);
    expect(() => gl.newSession(0n)).toThrow(/never 0/);
    expect(() => new GuestLibHost({ memoryMB: 1, cpuMhz: 1 }, { sessionId: 0n })).toThrow(/never 0/);
    expect(gl.newSession()).not.toBe(1n);
  });
});

describe('console guestlib', () => {
  it('sets, invalidates, changes the session, turns the API off — and the guest sees it', async () => {
    const host = new VmxHost({ guestlib: { sessionId: 5n } });
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('guestlib set MEM_SWAPPED_MB 12')).toBe('MEM_SWAPPED_MB 12');
    expect(c('guestlib set RESOURCE_POOL_PATH /a pool')).toBe('RESOURCE_POOL_PATH /a pool');
    expect(c('guestlib invalid MEM_LIMIT_MB')).toBe('MEM_LIMIT_MB (invalid)');
    expect(c('guestlib session 0x99')).toBe('session 0x99');
    const d = decodeGuestLibV3(ok(await ask(host, 'guestlib.info.get 3')));
    expect(d.sessionId).toBe(0x99n);
    expect(d.stats).toMatchObject({ MEM_SWAPPED_MB: 12, RESOURCE_POOL_PATH: '/a pool' });
    expect('MEM_LIMIT_MB' in d.stats).toBe(false);
    const shown = c('guestlib').split('\n');
    expect(shown[0]).toMatch(/^guest API on, versions 2 and 3; session 0x99; served v3 1, v2 0$/);
    expect(shown).toContain('13 MEM_SWAPPED_MB 12');
    expect(shown).toContain('7 MEM_LIMIT_MB (invalid)');
    expect(c('guestlib set MEM_SWAPPED_MB lots')).toMatch(/^error: .*decimal/);
    expect(c('guestlib set NOPE 1')).toMatch(/^error: no guestlib statistic/);
    expect(c('guestlib session zz')).toMatch(/^error: /);
    expect(c('guestlib version 2')).toBe('versions served: 2');
    expect((await ask(host, 'guestlib.info.get 3')).toString()).toBe('0 Unsupported version');
    expect(c('guestlib off')).toBe('guest API off');
    expect((await ask(host, 'guestlib.info.get 2')).toString()).toBe('0 Unknown command');
  });
});
