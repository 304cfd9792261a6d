import { encodeGuestLibV2, encodeGuestLibV3 } from '@vmw9/backdoor';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import { GuestLibClient, GuestLibError, guestLibValue, RpciClient } from '../src/index.js';

/** A host that answers each request with the next scripted reply and records what it was asked. */
function scripted(...replies: Array<[boolean, Buffer | string]>) {
  const asked: string[] = [];
  return {
    asked,
    async send(command: string) {
      asked.push(command);
      const next = replies.shift();
      if (!next) throw new Error(`unscripted request ${command}`);
      return { ok: next[0], reply: Buffer.from(next[1]) };
    },
  };
}

const v3 = (sessionId: bigint, stats = {}) => encodeGuestLibV3({ sessionId, stats });
const v2 = (sessionId: bigint, stats = {}) => encodeGuestLibV2({ sessionId, stats });

describe('GuestLibClient.info', () => {
  it('asks version 3 and decodes the statistics; an invalid one is absent', async () => {
    const host = scripted([true, v3(0x42n, { MEM_BALLOONED_MB: 300, CPU_STOLEN_MS: 9n })]);
    const gl = new GuestLibClient(host);
    const info = await gl.info();
    expect(host.asked).toEqual(['guestlib.info.get 3']);
    expect(info).toMatchObject({ version: 3, sessionId: 0x42n, statCount: 38, sessionChanged: false });
    expect(info.stats).toEqual({ MEM_BALLOONED_MB: 300, CPU_STOLEN_MS: 9n });
    expect(guestLibValue(info, 'MEM_BALLOONED_MB')).toBe(300);
    expect(() => guestLibValue(info, 'MEM_LIMIT_MB')).toThrow(
      expect.objectContaining({ code: 'not-available', text: 'This value is not available on this host' }),
    );
  });

  it('falls back to version 2 when 3 is refused, and keeps asking 2', async () => {
    const host = scripted(
      [false, 'Unsupported version'],
      [true, v2(7n, { MEM_LIMIT_MB: 2048 })],
      [true, v2(7n)],
    );
    const gl = new GuestLibClient(host);
    const info = await gl.info();
    expect(info).toMatchObject({ version: 2, statCount: 18, stats: { MEM_LIMIT_MB: 2048 } });
    expect(() => guestLibValue(info, 'CPU_STOLEN_MS')).toThrow(
      expect.objectContaining({ code: 'unsupported-version', text: 'Host does not support this request.' }),
    );
    await gl.info();
    expect(host.asked).toEqual(['guestlib.info.get 3', 'guestlib.info.get 2', 'guestlib.info.get 2']);
  });

  it.each([
    ['Unknown command on 3', [[false, 'Unknown command']], ['guestlib.info.get 3']],
    [
      'a refused 2',
      [
        [false, 'Unsupported version'],
        [false, 'Unsupported version'],
      ],
      ['guestlib.info.get 3', 'guestlib.info.get 2'],
    ],
  ] as const)('is not-enabled on %s, with libguestlib text', async (_, replies, asked) => {
    const host = scripted(...(replies as unknown as Array<[boolean, string]>));
    const err = await new GuestLibClient(host).info().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestLibError);
    expect(err).toMatchObject({ code: 'not-enabled', text: 'VMware Guest API is not enabled on the host' });
    expect(host.asked).toEqual(asked);
  });

  it('"Unknown command" must match whole: anything else on 3 falls back to 2', async () => {
    const host = scripted([false, 'Unknown command, sorry'], [true, v2(1n)]);
    expect((await new GuestLibClient(host).info()).version).toBe(2);
  });

  it('starts over from 3 when the session id changes, and says so', async () => {
    const host = scripted(
      [false, 'Unsupported version'],
      [true, v2(1n)],
      [true, v2(2n)], // another host now: renegotiate
      [true, v3(2n, { MEM_SWAPPED_MB: 5 })],
    );
    const gl = new GuestLibClient(host);
    expect((await gl.info()).sessionChanged).toBe(false);
    const moved = await gl.info();
    expect(moved).toMatchObject({
      version: 3,
      sessionId: 2n,
      sessionChanged: true,
      stats: { MEM_SWAPPED_MB: 5 },
    });
    expect(host.asked.slice(2)).toEqual(['guestlib.info.get 2', 'guestlib.info.get 3']);
    expect(gl.sessionId).toBe(2n);
  });

  it('is bad-reply ("Other error") on a reply of another version or one that does not decode', async () => {
    const wrong = await new GuestLibClient(scripted([true, v2(1n)])).info().catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'bad-reply', text: 'Other error' });
    expect((wrong as Error).message).toMatch(/asked version 3, the host answered 2/);
    const short = await new GuestLibClient(scripted([true, v3(1n).subarray(0, 30)]))
      .info()
      .catch((e: unknown) => e);
    expect(short).toMatchObject({ code: 'bad-reply' });
    const gl = new GuestLibClient(scripted([true, v3(5n)], [true, Buffer.alloc(3)]));
    await gl.info();
    await expect(gl.info()).rejects.toMatchObject({ code: 'bad-reply' });
    expect(gl.sessionId).toBe(0n);
  });
});

describe('GuestLibClient.raw', () => {
  it('sends encoding, stat and param as vmware-toolbox-cmd does and returns the text', async () => {
    const host = scripted([true, 'session: 1\n'], [false, 'No such stat']);
    const gl = new GuestLibClient(host);
    expect(await gl.raw('text', 'session')).toBe('session: 1\n');
    await expect(gl.raw('json', 'vscsi', 'scsi0:0')).rejects.toMatchObject({
      code: 'not-available',
      text: 'This value is not available on this host',
    });
    expect(host.asked).toEqual(['guestlib.stat.get text session ', 'guestlib.stat.get json vscsi scsi0:0']);
  });
});

describe('GuestLibClient against the simulated host', () => {
  const client = (host: VmxHost) => {
    const port = new SimBackdoorPort(host);
    // libguestlib opens a fresh channel per request (RpcChannel_SendOne): so does this sender.
    return new GuestLibClient({ send: (command: string) => RpciClient.oneShot(port, command) });
  };

  it('reads what the host set, follows a session change, and falls back to 2 on a V2 host', async () => {
    const host = new VmxHost({ guestlib: { sessionId: 11n, stats: { MEM_BALLOONED_MB: 640 } } });
    const gl = client(host);
    expect((await gl.info()).stats.MEM_BALLOONED_MB).toBe(640);
    host.guestlib.newSession(12n);
    host.guestlib.maxVersion = 2;
    host.guestlib.set('MEM_BALLOONED_MB', 1);
    const moved = await gl.info();
    expect(moved).toMatchObject({
      version: 2,
      sessionId: 12n,
      sessionChanged: true,
      stats: { MEM_BALLOONED_MB: 1 },
    });
    expect(host.guestlib.served).toEqual({ 2: 2, 3: 1 });
  });

  it('is not-enabled on a host with the Guest API off', async () => {
    const err = await client(new VmxHost({ guestlib: { enabled: false } }))
      .info()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'not-enabled', text: 'VMware Guest API is not enabled on the host' });
  });
});
