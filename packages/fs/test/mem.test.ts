/**
 * mem/ and the balloon/session watch behind `events` (docs/protocol/tree.md §19), with injected
 * sources (a guestlib double, balloon fixtures) and an injected timer: nothing waits on the clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestLibError, type GuestLibInfo, RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient, RemoteError } from 'ninep';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BalloonReading,
  BalloonStatsError,
  buildVmwareTree,
  parseBalloonStats,
  readBalloon,
  type ServedTree,
  serveVmwareTree,
} from '../src/index.js';
import { MemWatch } from '../src/mem.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/vmmemctl', import.meta.url));

describe('the balloon driver statistics (vmw_balloon debugfs)', () => {
  it('parses target, current, capabilities, ops with failures and every counter', async () => {
    const r = await readBalloon(FIXTURE, '/nonexistent');
    expect(r.state).toBe('loaded');
    const s = (r as Extract<BalloonReading, { state: 'loaded' }>).stats;
    expect(s).toMatchObject({ target: 262144, current: 131584, capabilities: 0x1e, resetting: false });
    // `target` is also an op's name: the size line and the op line are told apart.
    expect(s.ops.target).toEqual({ count: 4321, failed: 0 });
    expect(s.ops.batchLock).toEqual({ count: 120, failed: 2 });
    expect(s.counters).toMatchObject({ timer: 4321, doorbell: 7, 'alloc(4k)': 50, 'free(2M)': 40 });
  });

  it('reads a kernel before 4.20: sizes in "N pages", allocations with "(   N failed)"', async () => {
    const r = await readBalloon(
      fileURLToPath(new URL('./fixtures/vmmemctl-4.17', import.meta.url)),
      '/nonexistent',
    );
    const s = (r as Extract<BalloonReading, { state: 'loaded' }>).stats;
    expect(s).toMatchObject({ target: 5120, current: 4096, capabilities: 0xe, resetting: false });
    expect(s.ops.target).toEqual({ count: 900, failed: 1 });
    expect(s.ops.prim2mAlloc).toEqual({ count: 9, failed: 1 });
    expect(s.counters).toMatchObject({ timer: 900, doorbell: 3, primFree: 2, errFree: 0 });
  });

  it('reads an older kernel\'s "N pages" sizes, and refuses text that is not the driver\'s', () => {
    expect(
      parseBalloonStats('target:             1024 pages\ncurrent:             512 pages\n'),
    ).toMatchObject({
      target: 1024,
      current: 512,
    });
    expect(() => parseBalloonStats('MemTotal: 1 kB\n')).toThrow(BalloonStatsError);
  });

  it('no file and no module: absent; the module without its file: unreadable, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-balloon-'));
    expect(await readBalloon(join(dir, 'vmmemctl'), join(dir, 'no-module'))).toEqual({ state: 'absent' });
    const r = await readBalloon(join(dir, 'vmmemctl'), dir);
    expect(r).toMatchObject({ state: 'unreadable', why: expect.stringMatching(/debugfs/) });
  });
});

/** A timer the test fires by hand. */
function manualTimers() {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms };
      pending.push(t);
      return () => {
        const i = pending.indexOf(t);
        if (i >= 0) pending.splice(i, 1);
      };
    },
  };
}

const info = (sessionId: bigint, stats: GuestLibInfo['stats'], statCount = 38): GuestLibInfo => ({
  version: 3,
  sessionId,
  stats,
  statCount,
  sessionChanged: false,
});

let served: ServedTree | undefined;
let client: NinepClient | undefined;
afterEach(async () => {
  await client?.close();
  await served?.close();
  client = served = undefined;
});

async function setup(sources: { info: () => Promise<GuestLibInfo>; balloon: () => Promise<BalloonReading> }) {
  const host = new VmxHost();
  const port = new SimBackdoorPort(host);
  const timers = manualTimers();
  const calls = { info: 0, balloon: 0 };
  const tree = buildVmwareTree({
    port,
    rpc: RpciClient.overPort(port),
    transport: 'sim (test)',
    poll: { memMs: 2500 },
    mem: {
      guestlib: {
        info: () => {
          calls.info++;
          return sources.info();
        },
      },
      balloon: () => {
        calls.balloon++;
        return sources.balloon();
      },
      setTimer: timers.setTimer,
    },
  });
  const path = join(mkdtempSync(join(tmpdir(), 'vmw9-mem-')), 'fs.sock');
  served = await serveVmwareTree(tree, { listen: `unix!${path}` });
  client = await NinepClient.connect(`unix!${path}`, { version: '9P2000.u' });
  return { c: client, timers, calls };
}

const loaded = (target: number, current = 0): BalloonReading => ({
  state: 'loaded',
  stats: { target, current, ops: {}, counters: {} },
});

describe('mem/', () => {
  it('guestlib: the session, then every statistic; invalid ones not available, never 0', async () => {
    const { c } = await setup({
      info: async () => info(0xabcn, { MEM_BALLOONED_MB: 300, ELAPSED_MS: 123456789n }, 18),
      balloon: async () => ({ state: 'absent' }),
    });
    const lines = (await c.readFile('/mem/guestlib')).toString().trimEnd().split('\n');
    expect(lines).toHaveLength(39);
    expect(lines[0]).toMatch(/^SESSION_ID\s+0xabc$/);
    expect(lines).toContainEqual(expect.stringMatching(/^MEM_BALLOONED_MB\s+300$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ELAPSED_MS\s+123456789$/));
    expect(lines).toContainEqual(expect.stringMatching(/^MEM_LIMIT_MB\s+not available$/));
    // Statistic 26 is past what a V2 host sends (18).
    expect(lines).toContainEqual(expect.stringMatching(/^HOST_MEM_PHYS_MB\s+not sent by this host$/));
    expect(lines.filter((l) => / 0$/.test(l))).toEqual([]);
  });

  it("guestlib on a host with the Guest API off: the read fails with libguestlib's text", async () => {
    const { c } = await setup({
      info: async () => {
        throw new GuestLibError('not-enabled', 'Unknown command');
      },
      balloon: async () => ({ state: 'absent' }),
    });
    const e = await c.readFile('/mem/guestlib').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).ename).toBe('VMware Guest API is not enabled on the host');
  });

  it('balloon: the driver\'s figures in frames and MB, or "no balloon driver"', async () => {
    let reading: BalloonReading = { state: 'absent' };
    const { c } = await setup({ info: async () => info(1n, {}), balloon: async () => reading });
    expect((await c.readFile('/mem/balloon')).toString()).toBe('no balloon driver\n');
    reading = await readBalloon(FIXTURE, '/nonexistent');
    const t = (await c.readFile('/mem/balloon')).toString();
    expect(t).toMatch(/^driver vmw_balloon\ntarget 262144 frames 1024 MB\ncurrent 131584 frames 514 MB\n/);
    expect(t).toMatch(/^op batchLock 120 failed 2$/m);
    expect(t).toMatch(/^counter alloc\(4k\) 50$/m);
  });
});

describe('events: the balloon target and session watch', () => {
  it('polls only while events is open; posts a line when the target or the session changes', async () => {
    let target = 1000;
    let session = 0x10n;
    const { c, timers, calls } = await setup({
      info: async () => info(session, {}),
      balloon: async () => loaded(target),
    });
    await c.readFile('/mem/balloon');
    const before = { ...calls };
    expect(timers.pending).toHaveLength(0);

    const fid = await c.walk('/events');
    await c.open(fid, 'r');
    // The baseline poll, then one timer at the configured interval.
    await vi.waitFor(() => expect(timers.pending).toHaveLength(1));
    expect(timers.pending[0]!.ms).toBe(2500);
    expect(calls.balloon).toBe(before.balloon + 1);

    const tick = async () => {
      const polls = calls.balloon;
      timers.pending.shift()!.fn();
      await vi.waitFor(() => expect(calls.balloon).toBe(polls + 1));
      await vi.waitFor(() => expect(timers.pending).toHaveLength(1));
    };
    await tick(); // nothing changed: nothing posted
    target = 2048;
    await tick();
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('mem balloon target 2048\n');
    session = 0x20n;
    await tick();
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('mem session 0x20\n');

    await c.clunk(fid);
    await vi.waitFor(() => expect(timers.pending).toHaveLength(0));
    const after = calls.balloon;
    target = 4096;
    expect(calls.balloon).toBe(after);
  });

  it('a source that fails (Guest API off, no driver) posts nothing and keeps polling', async () => {
    const { c, timers } = await setup({
      info: async () => {
        throw new GuestLibError('not-enabled', 'Unknown command');
      },
      balloon: async () => ({ state: 'absent' }),
    });
    const fid = await c.walk('/events');
    await c.open(fid, 'r');
    await vi.waitFor(() => expect(timers.pending).toHaveLength(1));
    timers.pending.shift()!.fn();
    await vi.waitFor(() => expect(timers.pending).toHaveLength(1));
    const ac = new AbortController();
    const read = c.read(fid, 0, 100, ac.signal).then(
      () => 'line',
      () => 'nothing',
    );
    ac.abort();
    expect(await read).toBe('nothing');
  });
});

describe('the watch itself', () => {
  it('stopped and started again while a poll is in flight: one chain of polls, not two', async () => {
    const timers = manualTimers();
    const gates: Array<() => void> = [];
    const src = {
      guestlib: { info: async () => info(1n, {}) },
      balloon: () => new Promise<BalloonReading>((r) => gates.push(() => r(loaded(1)))),
    };
    const w = new MemWatch(src, () => {}, 1000, timers.setTimer);
    w.start();
    w.stop();
    w.start();
    expect(gates).toHaveLength(2);
    for (const g of gates) g();
    // Both polls settle on promises alone (no I/O): a few turns of the event loop see them through.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(timers.pending).toHaveLength(1);
  });
});

describe("mem/ on the simulator's VMGuestLib host", () => {
  it('reads the statistics set on the host, and a new session is an events line', async () => {
    const host = new VmxHost({ guestlib: { stats: { MEM_BALLOONED_MB: 256 }, sessionId: 0x100n } });
    const port = new SimBackdoorPort(host);
    const timers = manualTimers();
    const tree = buildVmwareTree({
      port,
      rpc: RpciClient.overPort(port),
      transport: 'sim (test)',
      mem: { balloon: async () => ({ state: 'absent' }), setTimer: timers.setTimer },
    });
    const path = join(mkdtempSync(join(tmpdir(), 'vmw9-mem-')), 'fs.sock');
    served = await serveVmwareTree(tree, { listen: `unix!${path}` });
    client = await NinepClient.connect(`unix!${path}`, { version: '9P2000.L' });
    const c = client;
    expect((await c.readFile('/mem/guestlib')).toString()).toMatch(/^MEM_BALLOONED_MB\s+256$/m);
    const fid = await c.walk('/events');
    await c.open(fid, 'r');
    await vi.waitFor(() => expect(timers.pending).toHaveLength(1));
    host.guestlib.newSession(0x200n);
    timers.pending.shift()!.fn();
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('mem session 0x200\n');
  });
});
