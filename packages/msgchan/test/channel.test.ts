/** msgchan against vmx-sim: every framing, both paths, in-process and over the socket, under faults. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackdoorPort, MessageStatus } from '@vmw9/backdoor';
import { SimBackdoorPort, SocketBackdoorPort, serveHost, VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChannelClosed,
  MAX_GUEST_MESSAGE,
  MessageChannel,
  MessageError,
  MessageTooLarge,
  PROTOCOL_RPCI,
  PROTOCOL_TCLO,
  statusNames,
} from '../src/index.js';

/** A host with an `echo` RPCI (replies "1 " + the argument bytes) and a counter of executions. */
function echoHost(opts?: VmxHostOptions) {
  const host = new VmxHost(opts);
  let executed = 0;
  host.rpci.register('echo', (args) => {
    executed++;
    return Buffer.concat([Buffer.from('1 '), args]);
  });
  return { host, executed: () => executed };
}

// The host strips one trailing NUL from a request, as VMware does (vmtoolsd sends strlen+1), so the
// payload is framed with a closing '|' to come back byte for byte.
const echo = (payload: Uint8Array) => Buffer.concat([Buffer.from('echo '), payload, Buffer.from('|')]);
const echoed = (payload: Uint8Array) => Buffer.concat([Buffer.from('1 '), payload, Buffer.from('|')]);

describe.each([
  [
    'in-process',
    async (host: VmxHost): Promise<[BackdoorPort, () => Promise<void>]> => [
      new SimBackdoorPort(host),
      async () => {},
    ],
  ],
  [
    'over the socket',
    async (host: VmxHost): Promise<[BackdoorPort, () => Promise<void>]> => {
      const path = join(mkdtempSync(join(tmpdir(), 'msgchan-')), 'h.sock');
      const server = await serveHost(host, path);
      const port = await SocketBackdoorPort.connect(path);
      return [
        port,
        async () => {
          await port.close();
          await server.close();
        },
      ];
    },
  ],
] as const)('against vmx-sim %s', (_, connect) => {
  for (const hb of [true, false]) {
    it(`round-trips arbitrary messages (${hb ? 'HB' : '4-byte path'})`, async () => {
      const { host } = echoHost({ hb });
      const [port, done] = await connect(host);
      const ch = await MessageChannel.open(port, PROTOCOL_RPCI);
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: hb ? 4096 : 64 }), async (bytes) => {
          const reply = await ch.exchange(echo(bytes));
          expect(reply).toEqual(echoed(bytes));
        }),
        { numRuns: 60 },
      );
      await ch.close();
      await done();
    }, 120_000);
  }

  it('carries a 64 KiB guest→host message and a 1 MiB host→guest one on both paths', async () => {
    for (const hb of [true, false]) {
      const { host } = echoHost({ hb });
      const [port, done] = await connect(host);
      const ch = await MessageChannel.open(port, PROTOCOL_RPCI);
      const big = Buffer.alloc(MAX_GUEST_MESSAGE - 6, 'g');
      expect((await ch.exchange(echo(big)))!.length).toBe(3 + big.length);
      host.rpci.setGuestinfo('guestinfo.big', 'h'.repeat(1 << 20));
      expect((await ch.exchange(Buffer.from('info-get guestinfo.big')))!.length).toBe(2 + (1 << 20));
      await ch.close();
      await done();
    }
    // Over the socket the 4-byte path is about 280,000 round trips: 16 s on a busy machine, so
    // the limit is set for a far busier one (it catches a hang, never a slow pass).
  }, 300_000);
});

describe('MessageChannel', () => {
  it('uses the fewest calls: 5 per exchange over HB, none wasted', async () => {
    const { host } = echoHost();
    const port = new SimBackdoorPort(host);
    const ch = await MessageChannel.open(port, PROTOCOL_RPCI);
    const mark = host.log.mark();
    await ch.exchange(echo(Buffer.from('x'.repeat(100))));
    expect(host.log.counts(mark)).toEqual({
      'MESSAGE.SENDSIZE': 1,
      'HB.OUT': 1,
      'MESSAGE.RECVSIZE': 1,
      'HB.IN': 1,
      'MESSAGE.RECVSTATUS': 1,
    });
    expect(ch.stats.calls).toBe(5); // OPEN is made before the channel exists, so not counted
  });

  it('refuses a message over 64 KiB before anything reaches the port', async () => {
    const { host } = echoHost();
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    const mark = host.log.mark();
    await expect(ch.send(Buffer.alloc(MAX_GUEST_MESSAGE + 1))).rejects.toBeInstanceOf(MessageTooLarge);
    expect(host.log.total(mark)).toBe(0);
    await expect(ch.send('text' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
  });

  it('maxSend moves the guest→host cap for one channel', async () => {
    const { host } = echoHost();
    const small = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI, { maxSend: 1000 });
    await expect(small.send(Buffer.alloc(1001))).rejects.toMatchObject({
      name: 'MessageTooLarge',
      limit: 1000,
    });
    const big = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI, { maxSend: 1 << 20 });
    // Past the channel's own check, it is the host's to take or refuse: this one refuses at SENDSIZE.
    await expect(big.send(Buffer.alloc(1 << 20))).rejects.toMatchObject({
      name: 'MessageError',
      step: 'SENDSIZE',
    });
  });

  it('refuses a host→guest message over its cap, acknowledging the failure', async () => {
    const { host } = echoHost();
    host.rpci.setGuestinfo('guestinfo.big', 'h'.repeat(5000));
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI, { maxReceive: 1000 });
    await expect(ch.exchange(Buffer.from('info-get guestinfo.big'))).rejects.toMatchObject({
      name: 'MessageTooLarge',
      direction: 'host-to-guest',
      size: 5002,
    });
    // The channel still works.
    expect((await ch.exchange(echo(Buffer.from('ok'))))!.toString()).toBe('1 ok|');
  });

  it('queues concurrent callers: exchanges never interleave', async () => {
    const { host } = echoHost({ hb: false });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ch.exchange(echo(Buffer.from(`message number ${i}`)))),
    );
    for (const [i, r] of replies.entries()) expect(r!.toString()).toBe(`1 message number ${i}|`);
  });

  it('falls back to a channel without cookies on a host that refuses them', async () => {
    const { host } = echoHost({ cookies: false });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    expect(ch.cookies).toBe(false);
    expect((await ch.exchange(echo(Buffer.from('no cookies'))))!.toString()).toBe('1 no cookies|');
    expect(host.log.counts()['MESSAGE.OPEN']).toBe(2);
  });

  it('receive() is null when nothing waits; a TCLO channel gets reset first', async () => {
    const { host } = echoHost();
    const tclo = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_TCLO);
    await tclo.send(new Uint8Array());
    expect((await tclo.receive())!.toString()).toBe('reset');
    expect(await tclo.receive()).toBeNull();
  });

  it('a closed channel refuses work; close twice is harmless', async () => {
    const { host } = echoHost();
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    await ch.close();
    await ch.close();
    await expect(ch.send(Buffer.from('x'))).rejects.toBeInstanceOf(ChannelClosed);
    expect(host.log.counts()['MESSAGE.CLOSE']).toBe(1);
  });

  it('names status bits', () => {
    expect(statusNames(MessageStatus.SUCCESS | MessageStatus.HB)).toEqual(['SUCCESS', 'HB']);
  });
});

describe('faults: nothing lost, nothing applied twice', () => {
  const steps = [
    ['SENDPAYLOAD', false],
    ['HBOUT', true],
    ['RECVPAYLOAD', false],
    ['HBIN', true],
    ['RECVSTATUS', true],
    ['RECVSTATUS', false],
  ] as const;
  it.each(steps)('a checkpoint at %s (hb=%s) is retried and the request runs once', async (step, hb) => {
    const { host, executed } = echoHost({ hb });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    host.arm({ kind: 'cpt', step, protocol: 'RPCI', skip: step.endsWith('PAYLOAD') ? 1 : 0 });
    expect((await ch.exchange(echo(Buffer.from('checkpointed message'))))!.toString()).toBe(
      '1 checkpointed message|',
    );
    expect(executed()).toBe(1);
    expect(ch.stats.restarts).toBe(1);
    expect(host.faults.fired.cpt).toBe(1);
  });

  it('a host that checkpoints for ever gets an error, not a hang', async () => {
    const { host, executed } = echoHost();
    host.arm({ kind: 'cpt', step: 'HBOUT', times: 1000 });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI, { maxRestarts: 5 });
    const err = await ch.exchange(echo(Buffer.from('x'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageError);
    expect(err).toMatchObject({ step: 'HBOUT', requestComplete: false });
    expect((err as Error).message).toMatch(/CPT.*still checkpointing after 5 restarts/);
    expect(executed()).toBe(0);
  });

  it('a reset mid-message: a typed error saying the request was not complete; nothing executed', async () => {
    const { host, executed } = echoHost({ hb: false });
    host.arm({ kind: 'reset', step: 'SENDPAYLOAD', skip: 1 });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    await expect(ch.exchange(echo(Buffer.from('a long enough message')))).rejects.toMatchObject({
      name: 'MessageError',
      step: 'SENDPAYLOAD',
      requestComplete: false,
      status: 0,
    });
    expect(executed()).toBe(0);
  });

  it('a failure after the request was complete says so (it may have run, once)', async () => {
    const { host, executed } = echoHost();
    host.arm({ kind: 'reset', step: 'RECVSIZE' });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    await expect(ch.exchange(echo(Buffer.from('x')))).rejects.toMatchObject({
      step: 'RECVSIZE',
      requestComplete: true,
    });
    expect(executed()).toBe(1);
  });

  it('a garbage reply is delivered as bytes (judging it is the RPC layer’s job)', async () => {
    const { host } = echoHost();
    host.arm({ kind: 'garbage', step: 'SENDSIZE', protocol: 'RPCI' });
    const ch = await MessageChannel.open(new SimBackdoorPort(host), PROTOCOL_RPCI);
    const r = (await ch.exchange(echo(Buffer.from('x'))))!;
    expect(r.subarray(0, 2).toString()).not.toBe('1 ');
  });
});
