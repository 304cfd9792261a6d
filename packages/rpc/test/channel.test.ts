/** The GuestRpcChannel seam: RpciClient and TcloLoop over any channel, and the tracing decorator. */
import { MessageError } from '@vmw9/msgchan';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import {
  escapeBytes,
  formatTraceRecord,
  GuestMsgChannel,
  type GuestRpcChannel,
  RpciClient,
  TcloLoop,
  type TraceRecord,
  TracingChannel,
} from '../src/index.js';

/** A channel that answers each exchange from a script: a reply, or an error to throw. */
class ScriptedChannel implements GuestRpcChannel {
  readonly name = 'rpci';
  readonly calls: string[] = [];
  constructor(private readonly script: Array<Buffer | Error>) {}
  async start() {
    this.calls.push('start');
  }
  async stop() {
    this.calls.push('stop');
  }
  async send(): Promise<void> {
    throw new Error('not used by RPCI');
  }
  async receive(): Promise<Buffer | null> {
    throw new Error('not used by RPCI');
  }
  async exchange(data: Uint8Array): Promise<Buffer | null> {
    this.calls.push(`exchange ${Buffer.from(data).toString()}`);
    const next = this.script.shift();
    if (next instanceof Error) throw next;
    return next ?? null;
  }
}

const lost = (requestComplete: boolean) => new MessageError('SENDSIZE', 0, 1, requestComplete);

describe('RpciClient over any GuestRpcChannel', () => {
  it('starts the channel once, and restarts it after a loss, resending what never arrived', async () => {
    const ch = new ScriptedChannel([Buffer.from('1 a'), lost(false), Buffer.from('1 b')]);
    const rpc = new RpciClient(ch);
    expect((await rpc.send('one')).text).toBe('a');
    expect((await rpc.send('two')).text).toBe('b');
    expect(ch.calls).toEqual(['start', 'exchange one', 'exchange two', 'stop', 'start', 'exchange two']);
    expect(rpc.opens).toBe(2);
  });

  it('does not resend a request the host had whole', async () => {
    const ch = new ScriptedChannel([lost(true), Buffer.from('1 later')]);
    const rpc = new RpciClient(ch);
    await expect(rpc.send('once')).rejects.toMatchObject({ requestComplete: true });
    expect((await rpc.send('next')).text).toBe('later');
    expect(ch.calls).toEqual(['start', 'exchange once', 'stop', 'start', 'exchange next']);
  });

  it('concurrent requests failing on one lost channel restart it once', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    const rpc = RpciClient.overPort(port);
    await rpc.send('info-get guestinfo.x');
    host.reset();
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => rpc.send(`info-set guestinfo.k${i} ${i}`)),
    );
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(rpc.opens).toBe(2);
    for (let i = 0; i < 5; i++) expect(host.rpci.getGuestinfo(`guestinfo.k${i}`)).toBe(String(i));
  });
});

describe('GuestMsgChannel', () => {
  it('refuses work until started, and after stop', async () => {
    const ch = new GuestMsgChannel(new SimBackdoorPort(new VmxHost()), 'rpci');
    await expect(ch.exchange(Buffer.from('x'))).rejects.toMatchObject({ name: 'ChannelClosed' });
    await ch.start();
    expect((await ch.exchange(Buffer.from('info-get guestinfo.none')))?.toString()).toBe('0 No value found');
    await ch.stop();
    await ch.stop();
    await expect(ch.receive()).rejects.toMatchObject({ name: 'ChannelClosed' });
  });

  it('a TcloLoop takes a channel: here a traced one', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const records: TraceRecord[] = [];
    const loop = new TcloLoop(
      new TracingChannel(new GuestMsgChannel(new SimBackdoorPort(host), 'tclo'), (r) => records.push(r)),
      { minDelayMs: 1, maxDelayMs: 1 },
    );
    host.tclo.queueCommand('ping');
    loop.start();
    await host.tclo.waitForReply('ping', 5000);
    await loop.stop();
    expect(records.map(formatTraceRecord).slice(0, 3)).toEqual([
      'tclo out 0',
      'tclo in 4 ping',
      'tclo out 3 OK ',
    ]);
    expect(host.channels.size).toBe(0);
  });
});

describe('TracingChannel', () => {
  it('shows at most headBytes of a message, escaped, and marks the cut', async () => {
    const records: TraceRecord[] = [];
    const inner = new ScriptedChannel([Buffer.from('1 ok')]);
    const ch = new TracingChannel(inner, (r) => records.push(r), { headBytes: 4 });
    expect(ch.name).toBe('rpci');
    await ch.exchange(Buffer.from('a\tb\\c d'));
    expect(records).toEqual([
      { direction: 'out', channel: 'rpci', size: 7, head: 'a\\tb\\\\…' },
      { direction: 'in', channel: 'rpci', size: 4, head: '1 ok' },
    ]);
  });

  it('escapes every byte outside printable ASCII as \\xHH', () => {
    expect(escapeBytes(Buffer.from([0, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x0d, 0x0a]))).toBe(
      '\\x00\\x1f ~\\x7f\\x80\\xff\\r\\n',
    );
  });
});
