import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it, vi } from 'vitest';
import { binaryTclo, pollDelay, TcloLoop } from '../src/index.js';

/** A sleep that records every delay asked for and yields without waiting. */
function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      await new Promise((r) => setImmediate(r));
    },
  };
}

// Generous: a busy machine is slow; only a hang should reach it.
const until = async (cond: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('pollDelay', () => {
  it('is 0 after a command and doubles from min to max when idle', () => {
    const seq: number[] = [];
    let d = 0;
    for (let i = 0; i < 10; i++) {
      d = pollDelay(d, false, 10, 1000);
      seq.push(d);
    }
    expect(seq).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    expect(pollDelay(640, true, 10, 1000)).toBe(0);
  });
});

describe('TcloLoop against vmx-sim', () => {
  it('answers the handshake (reset → OK ATR toolbox, ping, options), runs onReset after its reply', async () => {
    const host = new VmxHost({ options: [['synctime', '0']] });
    const { sleep } = recordingSleep();
    const order: string[] = [];
    const loop = TcloLoop.overPort(new SimBackdoorPort(host), {
      sleep,
      onReset: () => {
        order.push(`onReset after ${host.tclo.replies.length} replies`);
      },
    });
    loop.register('Capabilities_Register', () => '');
    loop.register('Set_Option', (args) => {
      if (!/^\S+ \S+$/.test(args)) throw new Error('Unknown or invalid option');
    });
    loop.start();
    await until(() => host.tclo.replies.length >= 6);
    await loop.stop();
    // The host's default options (copy/paste and drag-and-drop on) come before its own list.
    expect(host.tclo.replies.map((r) => [r.command, r.reply])).toEqual([
      ['reset', 'OK ATR toolbox'],
      ['ping', 'OK '],
      ['Capabilities_Register', 'OK '],
      ['Set_Option copypaste 1', 'OK '],
      ['Set_Option enableDnD 1', 'OK '],
      ['Set_Option synctime 0', 'OK '],
    ]);
    expect(order).toEqual(['onReset after 1 replies']);
    expect(host.channels.size).toBe(0);
  });

  it('unknown commands, failing handlers, empty commands', async () => {
    const loop = TcloLoop.overPort(new SimBackdoorPort(new VmxHost()));
    loop.register('Boom', () => {
      throw new Error('it broke');
    });
    loop.register('Echo', (args) => args);
    expect(await loop.dispatch('Nope x')).toBe('ERROR Unknown Command');
    expect(await loop.dispatch('Boom')).toBe('ERROR it broke');
    expect(await loop.dispatch('Echo  two  spaces')).toBe('OK  two  spaces');
    expect(await loop.dispatch('')).toBe('ERROR Bad command');
  });

  it('a binaryTclo handler gets its bytes and the loop never decodes them; a text handler gets text', async () => {
    const loop = TcloLoop.overPort(new SimBackdoorPort(new VmxHost()));
    const packet = Buffer.from([0x01, 0xff, 0x00, 0x20, 0xc3]);
    const got: Buffer[] = [];
    loop.register(
      'bin',
      binaryTclo((request) => {
        got.push(request.args);
        return Buffer.from([...request.args].reverse());
      }),
    );
    let text: string | undefined;
    loop.register('txt', (args) => {
      text = args;
    });
    const reply = await loop.dispatch(Buffer.concat([Buffer.from('bin '), packet]));
    expect([...reply]).toEqual([...Buffer.from('OK '), 0xc3, 0x20, 0x00, 0xff, 0x01]);
    expect(got[0]!.equals(packet)).toBe(true);
    await loop.dispatch(Buffer.from('txt héllo'));
    expect(text).toBe('héllo');

    // What binaryTclo is for: 512 KiB of args is never turned into a string.
    const big = Buffer.alloc(512 * 1024, 0xc3);
    const decodedArgs = async (cmd: string) => {
      const spy = vi.spyOn(Buffer.prototype, 'toString');
      try {
        await loop.dispatch(Buffer.concat([Buffer.from(`${cmd} `), big]));
        return spy.mock.contexts.some((b) => (b as Buffer).length === big.length);
      } finally {
        spy.mockRestore();
      }
    };
    expect(await decodedArgs('bin')).toBe(false);
    expect(await decodedArgs('txt')).toBe(true);
  });

  it('the command event gives the request as bytes (its word, its args) and the reply’s bytes', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const { sleep } = recordingSleep();
    const loop = TcloLoop.overPort(new SimBackdoorPort(host), { sleep });
    loop.register('Bin', (_args, req) => req.args.subarray(0, 2));
    const seen: Array<[string, Buffer, Buffer]> = [];
    loop.on('command', (req, reply: Buffer) => seen.push([req.command, req.args, reply]));
    const binary = Buffer.from([0x42, 0x69, 0x6e, 0x20, 0xff, 0x00, 0x20, 0x01]);
    host.tclo.queueCommand(binary);
    host.tclo.queueCommand('Nope x');
    loop.start();
    await until(() => seen.length >= 2);
    await loop.stop();
    expect(seen[0]).toEqual([
      'Bin',
      Buffer.from([0xff, 0x00, 0x20, 0x01]),
      Buffer.from('OK \xff\x00', 'latin1'),
    ]);
    expect(seen[1]).toEqual(['Nope', Buffer.from('x'), Buffer.from('ERROR Unknown Command')]);
  });

  it('polls again at once while busy, backs off while idle', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const { delays, sleep } = recordingSleep();
    const loop = TcloLoop.overPort(new SimBackdoorPort(host), { sleep });
    loop.register('Work', () => 'done');
    for (let i = 0; i < 5; i++) host.tclo.queueCommand('Work');
    loop.start();
    await until(() => delays.length >= 8);
    await loop.stop();
    // Five commands back to back with no sleep between them, then the idle back-off.
    expect(host.tclo.replies.map((r) => r.reply)).toEqual(Array(5).fill('OK done'));
    expect(delays.slice(0, 8)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000]);
    // Idle cost: each poll is SENDSIZE(0) + RECVSIZE.
    const c = host.log.counts();
    expect(c['MESSAGE.SENDSIZE']).toBe(loop.stats.polls + 5);
  });

  it('recovers from a host reset: reopens, answers reset again', async () => {
    const host = new VmxHost();
    const { sleep } = recordingSleep();
    const loop = TcloLoop.overPort(new SimBackdoorPort(host), { sleep, restartDelayMs: 1 });
    loop.start();
    await until(() => host.tclo.replies.some((r) => r.command === 'ping'));
    host.reset();
    await until(() => host.tclo.replies.filter((r) => r.command === 'reset').length === 2);
    await loop.stop();
    expect(loop.stats.opens).toBe(2);
    expect(loop.stats.errors).toBeGreaterThanOrEqual(1);
  });

  it('says its state: stopped, open, reopening after a failure (with the failure), stopped', async () => {
    const host = new VmxHost();
    const restartDelayMs = 7777;
    const during: string[] = [];
    const loop: TcloLoop = TcloLoop.overPort(new SimBackdoorPort(host), {
      restartDelayMs,
      // The restart wait is where a failed loop sits: record the state it shows there.
      sleep: async (ms) => {
        if (ms === restartDelayMs) during.push(loop.state);
        await new Promise((r) => setImmediate(r));
      },
    });
    expect(loop.state).toBe('stopped');
    loop.start();
    await until(() => host.tclo.replies.some((r) => r.command === 'ping'));
    expect(loop.state).toBe('open');
    expect(loop.lastError).toBeUndefined();
    host.reset();
    await until(() => host.tclo.replies.filter((r) => r.command === 'reset').length === 2);
    expect(during[0]).toBe('reopening');
    expect(loop.lastError).toEqual(expect.any(String));
    await until(() => loop.state === 'open');
    await loop.stop();
    expect(loop.state).toBe('stopped');
  });
});
