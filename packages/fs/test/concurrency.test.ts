/**
 * Many clients at once (docs/protocol/tree.md §1, "Any number of clients"): 32 of ninep's clients,
 * each over its own Unix socket connection, make 500 mixed reads and writes across every file of
 * the tree that does not block, against the simulated host. No operation may fail, every read must
 * see one whole value (never pieces of two), and afterwards the host holds what the last writes
 * said. The file list comes from the tree's own listing, so a new file is covered (or the test
 * says which operation it lacks).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpciClient } from '@vmw9/rpc';
import { type SimServer, SocketBackdoorPort, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { type Dialect, type Dir, DMDIR, NinepClient, type Node, RemoteError, StreamFile } from 'ninep';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmwareTree, type ServedTree, serveVmwareTree, type VmwareTree } from '../src/index.js';

const CLIENTS = 32;
const OPERATIONS = 500;
const DIALECTS: Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];
/** Every fourth operation of the rotation is on `snarf`, the file the issue saw fail. */
const SNARF_WEIGHT = 4;
/** Writable files no operation here writes, and why. */
const NOT_WRITTEN: Record<string, string> = {
  power: 'a write answers a pending host power request, and the test makes none',
  // The tree here has no copy/paste engine: the legacy clipboard carries text only, so these
  // writes fail alone too (packages/fs/test/clipboard.test.ts checks how).
  'clip/rtf': 'the legacy clipboard carries text only',
  'clip/html': 'the legacy clipboard carries text only',
  'clip/png': 'the legacy clipboard carries text only',
  'clip/files': 'a file list is never written',
};
/** The GUI options (the gui file's line names); client i < GUI_OWNERS.length alone writes GUI_OWNERS[i]. */
const GUI_OWNERS = ['autograb', 'autorelease', 'autoscroll', 'autoraise', 'hidecursor', 'synctime'];

const key = (i: number) => `c${i}`;
/** A snarf value: mostly short, every fifth one longer than a small client's iounit, so its reads take several Treads. */
const snarfValue = (i: number, k: number) => `snarf ${i} ${k} ${k % 5 === 0 ? 'x'.repeat(5000) : ''}.`;

/** Writes to one shared value, each with its start and end on one counter of events (not a clock). */
class SharedWrites {
  private readonly writes: Array<{ value: string; start: number; end?: number }> = [];
  constructor(private readonly clock: { t: number }) {}
  async record(value: string, write: () => Promise<unknown>): Promise<void> {
    const w: { value: string; start: number; end?: number } = { value, start: this.clock.t++ };
    this.writes.push(w);
    await write();
    w.end = this.clock.t++;
  }
  get values(): Set<string> {
    return new Set(this.writes.map((w) => w.value));
  }
  /**
   * The values the last completed write may have left: a write that no other write began after
   * (a serialization runs such a write last, whichever order its queue chose among overlapping ones).
   */
  lastValues(): string[] {
    const done = this.writes.filter((w) => w.end !== undefined);
    return done.filter((w) => !done.some((o) => o.start > w.end!)).map((w) => w.value);
  }
}

const host = new VmxHost({ logLimit: 1000 });
let simServer: SimServer;
let port: SocketBackdoorPort;
let tree: VmwareTree;
let served: ServedTree;
let clients: NinepClient[] = [];

beforeAll(async () => {
  host.setHostClipboard('initial');
  for (let i = 0; i < CLIENTS; i++) host.rpci.setGuestinfo(`guestinfo.${key(i)}`, `${key(i)} initial`);
  const dir = mkdtempSync(join(tmpdir(), 'vmw9-fs-conc-'));
  // The host over its socket, as `vmw9 serve --host unix!…` reaches it: every backdoor call is a
  // round trip, so the calls of concurrent requests interleave as they do on a busy agent.
  simServer = await serveHost(host, join(dir, 'sim.sock'));
  port = await SocketBackdoorPort.connect(`unix!${join(dir, 'sim.sock')}`);
  tree = buildVmwareTree(
    { port, rpc: RpciClient.overPort(port), transport: 'sim (concurrency test)', poll: { snarfMs: 20 } },
    { guestinfoKeys: Array.from({ length: CLIENTS }, (_, i) => key(i)) },
  );
  const sock = join(dir, 'fs.sock');
  served = await serveVmwareTree(tree, { listen: `unix!${sock}` });
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) =>
      // Every dialect, and half the clients with a small msize so long values take several reads.
      NinepClient.connect(`unix!${sock}`, {
        version: DIALECTS[i % DIALECTS.length]!,
        ...(i % 2 ? { msize: 4096 } : {}),
      }),
    ),
  );
});
afterAll(async () => {
  for (const c of clients) c.close();
  await served?.close();
  await port?.close();
  await simServer?.close();
});

/** The node at `path` in the served tree (to tell event files, whose reads block, from the rest). */
function nodeAt(path: string): Node {
  let n: Node = tree.root;
  for (const part of path.split('/')) n = (n as Dir).children.get(part)!;
  return n;
}

/** Every file in the listing, depth first, with its mode. */
async function listFiles(c: NinepClient, dir = ''): Promise<Array<{ path: string; mode: number }>> {
  const out: Array<{ path: string; mode: number }> = [];
  for (const f of await c.readdir(`/${dir}`)) {
    const path = dir ? `${dir}/${f.name}` : f.name;
    if (f.mode & DMDIR) out.push(...(await listFiles(c, path)));
    else out.push({ path, mode: f.mode });
  }
  return out;
}

/** Opens `path`, runs `fn` on the fid, clunks it. */
async function withOpen<T>(
  c: NinepClient,
  path: string,
  access: 'r' | 'w' | 'rw',
  fn: (fid: number) => Promise<T>,
): Promise<T> {
  const fid = await c.walk(path);
  try {
    await c.open(fid, access);
    return await fn(fid);
  } finally {
    await c.clunk(fid);
  }
}

const text = async (c: NinepClient, path: string) => (await c.readFile(path)).toString();
const write = (c: NinepClient, path: string, data: string) =>
  withOpen(c, path, 'w', (fid) => c.write(fid, 0, Buffer.from(data)));

it(`${CLIENTS} clients × ${OPERATIONS} mixed reads and writes on every non-blocking file: no errors, and the host holds the last writes`, async () => {
  const files = await listFiles(clients[0]!);
  const blocking = files.filter((f) => nodeAt(f.path) instanceof StreamFile).map((f) => f.path);
  expect(blocking).toContain('events'); // the event files are told apart

  /** Files whose read alone means nothing (msg reads the reply to a request written on the fid). */
  const exchangeOnly = new Set(['msg']);
  // What a lone client reads from each file, in each dialect: a read that fails alone (the
  // simulated host lacks `dev`) must fail the same way under load, and is not counted as an error.
  const alone = new Map<string, string>();
  const failedAlone = new Set<string>();
  for (const c of clients.slice(0, DIALECTS.length))
    for (const f of files) {
      if (!(f.mode & 0o444) || blocking.includes(f.path) || exchangeOnly.has(f.path)) continue;
      await c.readFile(f.path).catch((e: unknown) => {
        alone.set(`${c.dialect} ${f.path}`, String(e));
        failedAlone.add(f.path);
      });
    }

  const clock = { t: 0 };
  const snarf = new SharedWrites(clock);
  const pointer = new SharedWrites(clock);
  const debug = new SharedWrites(clock);
  const lastKey = Array.from({ length: CLIENTS }, (_, i) => `${key(i)} initial`);
  const keyValues = Array.from({ length: CLIENTS }, (_, i) => new Set([lastKey[i]!]));
  const gui = new Map<string, string>(); // option → its owner's last write
  const logs: string[] = [];
  const errors: string[] = [];

  /** One operation by client i (its k-th); says what it did. */
  type Kind = 'read' | 'write' | 'exchange';
  type Op = (c: NinepClient, i: number, k: number) => Promise<Kind>;
  const counts: Record<Kind | 'expectedFailures', number> = {
    read: 0,
    write: 0,
    exchange: 0,
    expectedFailures: 0,
  };

  /** The read rule of each file (default: the read succeeds). */
  const snarfCheck = (path: string) => (v: string) => {
    if (v !== 'initial' && !snarf.values.has(v))
      throw new Error(`${path} read a value nobody wrote: ${v.slice(0, 40)}…`);
  };
  const checks: Record<string, (v: string) => void> = {
    snarf: snarfCheck('snarf'),
    // Over the legacy clipboard clip/text is snarf.
    'clip/text': snarfCheck('clip/text'),
    ctl: (v) => {
      if (
        !/^backdoor ok\nsnarf on\nclipboard legacy\nmouse absolute\ntclo off\neofmode off\ndebug \d+\n$/.test(
          v,
        )
      )
        throw new Error(`ctl read ${JSON.stringify(v)}`);
    },
    pointer: (v) => {
      if (!/^( {0,10}-?\d+ ){2}$/.test(v) || v.length !== 24)
        throw new Error(`pointer read ${JSON.stringify(v)}`);
    },
    time: (v) => {
      if (v.length !== 78) throw new Error(`time read ${v.length} bytes`);
    },
    gui: (v) => {
      if (!/^(\S+ (on|off)\n){11}$/.test(v)) throw new Error(`gui read ${JSON.stringify(v)}`);
    },
    version: (v) => {
      if (!/\nbackdoor 6\n/.test(v)) throw new Error(`version read ${JSON.stringify(v)}`);
    },
  };
  const keyOf = (path: string) => /^guestinfo\/c(\d+)$/.exec(path);

  const written =
    (fn: (c: NinepClient, i: number, k: number) => Promise<unknown>): Op =>
    async (c, i, k) => {
      await fn(c, i, k);
      return 'write';
    };
  const exchange =
    (fn: (c: NinepClient, i: number) => Promise<unknown>): Op =>
    async (c, i) => {
      await fn(c, i);
      return 'exchange';
    };
  /** A file's write, or for rpc1, msg and rpc/clone its exchange (a request written, the reply read on the same fid). */
  const writers: Record<string, Op> = {
    snarf: written((c, i, k) => {
      const v = snarfValue(i, k);
      return snarf.record(v, () => c.writeFile('/snarf', Buffer.from(v)));
    }),
    'clip/text': written((c, i, k) => {
      const v = snarfValue(i, k);
      return snarf.record(v, () => c.writeFile('/clip/text', Buffer.from(v)));
    }),
    ctl: written((c, i, k) =>
      debug.record(String(i * 1000 + k), () => write(c, '/ctl', `debug ${i * 1000 + k}\n`)),
    ),
    pointer: written((c, i, k) => pointer.record(`${i} ${k}`, () => write(c, '/pointer', `${i} ${k}`))),
    mouse: written((c, i, k) => pointer.record(`${i} ${k}`, () => write(c, '/mouse', `m ${i} ${k}`))),
    mousectl: written((c, i) => write(c, '/mousectl', `poll ${10 + i}`)),
    timectl: written((c) => write(c, '/timectl', 'stopcatchup')),
    wctl: written((c, i, k) => write(c, '/wctl', `resize ${640 + i} ${480 + k}`)),
    log: written(async (c, i, k) => {
      logs.push(`log ${i} ${k}`);
      await write(c, '/log', `log ${i} ${k}\n`);
    }),
    stats: written((c) => write(c, '/stats', 'reset')),
    'guestinfo/ctl': written((c) => write(c, '/guestinfo/ctl', 'refresh')),
    gui: async (c, i, k) => {
      const option = GUI_OWNERS[i];
      if (!option) return readOp('gui')(c, i, k); // only an option's owner writes it
      const v = k % 2 ? 'on' : 'off';
      await write(c, '/gui', `${option} ${v}`);
      gui.set(option, v);
      return 'write';
    },
    rpc1: exchange((c, i) =>
      withOpen(c, '/rpc1', 'rw', async (fid) => {
        await c.write(fid, 0, Buffer.from(`info-get guestinfo.${key(i)}`));
        const r = Buffer.from(await c.readToEnd(fid)).toString();
        if (r !== `1 ${lastKey[i]}`) throw new Error(`rpc1 answered ${JSON.stringify(r)}`);
      }),
    ),
    msg: exchange((c, i) =>
      withOpen(c, '/msg', 'rw', async (fid) => {
        await c.write(fid, 0, Buffer.from('rpci'));
        await c.write(fid, 0, Buffer.from(`info-get guestinfo.${key(i)}`));
        const r = Buffer.from(await c.read(fid, 0, 8192)).toString();
        if (r !== `1 ${lastKey[i]}`) throw new Error(`msg answered ${JSON.stringify(r)}`);
      }),
    ),
    'rpc/clone': exchange((c, i) =>
      withOpen(c, '/rpc/clone', 'rw', async (clone) => {
        const n = Buffer.from(await c.readToEnd(clone)).toString();
        await c.write(clone, 0, Buffer.from('open rpci'));
        const ctl = await text(c, `/rpc/${n}/ctl`);
        if (ctl !== `${n} rpci open\n`) throw new Error(`rpc/${n}/ctl read ${JSON.stringify(ctl)}`);
        await withOpen(c, `/rpc/${n}/data`, 'rw', async (fid) => {
          await c.write(fid, 0, Buffer.from(`info-get guestinfo.${key(i)}`));
          const r = Buffer.from(await c.read(fid, 0, 8192)).toString();
          if (r !== `1 ${lastKey[i]}`) throw new Error(`rpc/${n}/data answered ${JSON.stringify(r)}`);
        });
      }),
    ),
  };
  const readOp =
    (path: string): Op =>
    async (c, i) => {
      let v: string;
      try {
        v = await text(c, `/${path}`);
      } catch (e) {
        if (alone.get(`${c.dialect} ${path}`) === String(e)) {
          counts.expectedFailures++;
          return 'read';
        }
        throw e;
      }
      if (failedAlone.has(path)) throw new Error(`${path} read succeeded but fails when read alone`);
      const m = keyOf(path);
      if (m) {
        const j = Number(m[1]);
        if (j === i ? v !== lastKey[i] : !keyValues[j]!.has(v))
          throw new Error(
            `${path} read ${JSON.stringify(v)}; its owner wrote ${JSON.stringify(lastKey[j])} last`,
          );
      }
      checks[path]?.(v);
      return 'read';
    };

  // The rotation: for each file, the operations it takes (reads where readable, writes where writable).
  const rotation: Array<{ path: string; ops: Op[] }> = [];
  for (const f of files) {
    const ops: Op[] = [];
    if (f.mode & 0o444 && !blocking.includes(f.path) && !exchangeOnly.has(f.path)) ops.push(readOp(f.path));
    if (keyOf(f.path)) {
      // Each client writes only its own key: at a peer's key's turn it writes its own instead.
      ops.push(async (c, i, k) => {
        const v = `${key(i)} ${k}`;
        await write(c, `/guestinfo/${key(i)}`, `${v}\n`);
        lastKey[i] = v;
        keyValues[i]!.add(v);
        return 'write';
      });
    } else if (f.mode & 0o222 && !NOT_WRITTEN[f.path]) {
      const w = writers[f.path];
      expect(w, `no write operation for the writable file ${f.path}: add one to this test`).toBeDefined();
      ops.push(w!);
    }
    if (ops.length === 0) continue; // a blocking file without a write
    for (let n = f.path === 'snarf' ? SNARF_WEIGHT : 1; n > 0; n--) rotation.push({ path: f.path, ops });
  }

  const snarfCounts: Record<Kind, number> = { read: 0, write: 0, exchange: 0 };
  const run = async (i: number) => {
    const c = clients[i]!;
    for (let k = 0; k < OPERATIONS; k++) {
      // Each client starts at its own place in the rotation, and alternates a file's operations.
      const slot = rotation[(i * 7 + k) % rotation.length]!;
      const op = slot.ops[(Math.floor(k / rotation.length) + i) % slot.ops.length]!;
      try {
        const kind = await op(c, i, k);
        counts[kind]++;
        if (slot.path === 'snarf') snarfCounts[kind]++;
      } catch (e) {
        errors.push(
          `client ${i} op ${k} on ${slot.path}: ${e instanceof RemoteError ? e.message : String(e)}`,
        );
      }
    }
  };
  await Promise.all(clients.map((_, i) => run(i)));

  const total = counts.read + counts.write + counts.exchange + errors.length;
  const covered = new Set(rotation.map((r) => r.path)).size;
  const summary = `${CLIENTS} clients × ${OPERATIONS} operations over 9P: ${total} operations (${counts.read} reads, ${counts.write} writes, ${counts.exchange} write-then-read exchanges) on ${covered} of ${files.length} files (reads of ${blocking.join(' ')} block: not read), ${errors.length} errors; ${counts.expectedFailures} reads failed as they do alone (${[...failedAlone].join(' ') || 'none'}); snarf: ${snarfCounts.read} reads, ${snarfCounts.write} writes`;
  console.log(summary);
  const reports = join(fileURLToPath(new URL('../../../', import.meta.url)), '.reports');
  mkdirSync(reports, { recursive: true });
  writeFileSync(join(reports, 'fs-concurrency.txt'), `${summary}\n${errors.slice(0, 50).join('\n')}\n`);

  expect(total).toBe(CLIENTS * OPERATIONS);
  expect(errors.slice(0, 10), `${errors.length} operations failed`).toEqual([]);
  // The host holds what the last writes said.
  expect(snarf.lastValues()).toContain(host.clipboard.host.toString());
  expect(pointer.lastValues()).toContain(`${host.pointer.x} ${host.pointer.y}`);
  expect(debug.lastValues()).toContain(/debug (\d+)/.exec(await text(clients[0]!, '/ctl'))![1]);
  for (let i = 0; i < CLIENTS; i++) expect(host.rpci.getGuestinfo(`guestinfo.${key(i)}`)).toBe(lastKey[i]);
  expect([...host.rpci.logs].sort()).toEqual([...logs].sort());
  const guiNow = await text(clients[0]!, '/gui');
  for (const [option, v] of gui) expect(guiNow).toContain(`${option} ${v}\n`);
  expect(gui.size).toBe(GUI_OWNERS.length);
}, 600_000);
