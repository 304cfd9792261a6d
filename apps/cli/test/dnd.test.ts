/**
 * `vmw9 dnd watch` and `vmw9 dnd offer` against a tree served from this process whose drag and
 * drop the test drives (the tree's side of dnd/ is packages/fs/test/dnd.test.ts, the agent's
 * packages/agent/test/dnd.test.ts): what each prints, in text and JSON, the progress bar from
 * dnd/status, the offer's id and its --wait, the errors.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, stat, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildVmwareTree,
  type DndTreeEvent,
  type DndTreeOffer,
  type DndTreeSource,
  type DndTreeStatus,
  HostEventHub,
  type ServedTree,
  serveVmwareTree,
  type VmwareTree,
} from '@vmw9/fs';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { dndWatchCommand } from '../src/commands/dnd.js';
import type { Output } from '../src/output.js';
import { bin, type Run } from './sim-host.js';

/** A drag-and-drop source the test drives. */
class TestDnd implements DndTreeSource {
  readonly listeners = new Set<(e: DndTreeEvent) => void>();
  current: DndTreeStatus = { kind: 'idle' };
  offers: DndTreeOffer[] = [];
  statusReads = 0;
  /** Called after each offer is made (the test answers as the host would). */
  afterOffer: ((o: DndTreeOffer) => void) | undefined;

  emit(e: DndTreeEvent): void {
    for (const l of this.listeners) l(e);
  }
  subscribe(l: (e: DndTreeEvent) => void) {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  status() {
    this.statusReads++;
    return this.current;
  }
  settings() {
    return { enabled: true, state: 'ready', staging: '/s' };
  }
  offered() {
    return this.offers.at(-1);
  }
  async checkPath(path: string): Promise<void> {
    await promisify(stat)(path);
  }
  async offer(paths: readonly string[]): Promise<DndTreeOffer> {
    const o = { id: this.offers.length + 1, files: paths.length, bytes: 5 * paths.length, paths };
    this.offers.push(o);
    this.emit({ type: 'offer', id: o.id, files: o.files, bytes: o.bytes });
    setImmediate(() => this.afterOffer?.(o));
    return o;
  }
  withdraw(): void {}
  cancel(): void {}
  setEnabled(): void {}
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

async function served() {
  const dir = mkdtempSync(join(tmpdir(), 'vmw9-cli-dnd-'));
  const port = new SimBackdoorPort(new VmxHost());
  const dnd = new TestDnd();
  const tree: VmwareTree = buildVmwareTree({
    port,
    rpc: RpciClient.overPort(port),
    events: new HostEventHub(),
    transport: 'sim (test)',
    dnd,
  });
  const sock = join(dir, 'fs.sock');
  const s: ServedTree = await serveVmwareTree(tree, { listen: `unix!${sock}` });
  stops.push(() => s.close());
  const eventsFile = (tree.root.children.get('dnd') as unknown as { events: { blockedReaders: number } })
    .events;
  /** Resolves once `n` reads of dnd/events wait for a record. */
  const readers = async (n: number) => {
    while (eventsFile.blockedReaders < n) await new Promise((r) => setTimeout(r, 5));
  };
  return { dir, sock, dnd, readers };
}

/** Runs the built vmw9 in `cwd`, without waiting for its end. */
function start(args: string[], cwd?: string) {
  const c = spawn(process.execPath, [bin, ...args], { ...(cwd ? { cwd } : {}) });
  let out = '';
  let err = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (err += d));
  const done = new Promise<Run>((resolve) => c.on('close', (code) => resolve({ code, out, err })));
  stops.push(async () => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await done;
  });
  return done;
}

const DROP: DndTreeEvent = { type: 'drop', id: 1, files: 4, bytes: 2000012, path: '/s/drop.Ab12Cd' };

describe('vmw9 dnd watch', () => {
  it('prints each record as it comes, in words, until --count drops', async () => {
    const { sock, dnd, readers } = await served();
    const run = start(['dnd', '--socket', sock, 'watch', '--count', '2']);
    await readers(1);
    dnd.emit({ type: 'begin', id: 1, items: 3, bytes: 2000012 });
    dnd.emit(DROP);
    dnd.emit({ type: 'offer', id: 1, files: 1, bytes: 5 });
    dnd.emit({ type: 'failed', id: 2, reason: 'outside the host named root/etc/passwd' });
    dnd.emit({ type: 'taken', id: 1 }); // after the second drop: not printed
    const r = await run;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'drop 1 begun: 3 items, 1.9 MiB',
        'drop 1: 4 files, 1.9 MiB, in /s/drop.Ab12Cd',
        'offer 1: 1 file, 5 B',
        'drop 2 failed: outside the host named root/etc/passwd',
        '',
      ].join('\n'),
    );
  });

  it('--json: one object per record, one a line; --socket after the subcommand works too', async () => {
    const { sock, dnd, readers } = await served();
    const run = start(['--json', 'dnd', 'watch', '--socket', `unix!${sock}`, '--count', '1']);
    await readers(1);
    dnd.emit({ type: 'withdrawn', id: 3 });
    dnd.emit(DROP);
    const r = await run;
    expect(r.code).toBe(0);
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { event: 'withdrawn', id: 3 },
      { event: 'drop', id: 1, files: 4, bytes: 2000012, path: '/s/drop.Ab12Cd' },
    ]);
  });

  it('on a terminal a bar shows the drop being received, from dnd/status', async () => {
    const { sock, dnd, readers } = await served();
    const written: string[] = [];
    const out: string[] = [];
    const o: Output = { json: false, out: (s) => out.push(s), err: () => undefined };
    let t = 0;
    const run = dndWatchCommand(
      o,
      {
        socket: sock,
        count: '1',
        progress: { isTTY: true, columns: 100, write: (s) => written.push(s) },
        pollMs: 1,
        // Every look at the clock is two seconds later: the bar is past its first second at once.
        now: () => (t += 2000),
      },
      new AbortController().signal,
    );
    await readers(1);
    dnd.current = { kind: 'receiving', id: 1, files: { done: 2 }, bytes: { done: 1000006, total: 2000012 } };
    dnd.emit({ type: 'begin', id: 1, items: 3, bytes: 2000012 });
    while (dnd.statusReads < 3) await new Promise((r) => setTimeout(r, 5));
    dnd.emit(DROP);
    expect(await run).toBe(0);
    expect(written.join('')).toMatch(/\rdrop 1 \[#{12}\.{12}\] {2}50% 976\.6 KiB\/1\.9 MiB/);
    expect(written.at(-1)).toBe('\n');
    expect(out).toEqual(['drop 1 begun: 3 items, 1.9 MiB', 'drop 1: 4 files, 1.9 MiB, in /s/drop.Ab12Cd']);
  });

  it('with no agent at the socket: exit 1, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-cli-dnd-'));
    const r = await start(['dnd', '--socket', join(dir, 'none.sock'), 'watch']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmw9: no agent: no socket at .*none\.sock/);
  });
});

describe('vmw9 dnd offer', () => {
  function files(dir: string) {
    mkdirSync(join(dir, 'work', 'photos'), { recursive: true });
    writeFileSync(join(dir, 'work', 'report.pdf'), 'pdf');
  }

  it('offers the paths made absolute and prints the offer id', async () => {
    const { sock, dnd, dir } = await served();
    files(dir);
    const r = await start(['dnd', '--socket', sock, 'offer', 'report.pdf', 'photos/'], join(dir, 'work'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('1\n');
    expect(dnd.offers[0]!.paths).toEqual([join(dir, 'work', 'report.pdf'), join(dir, 'work', 'photos')]);
  });

  it('a missing path: exit 1 naming it, nothing offered', async () => {
    const { sock, dnd, dir } = await served();
    const r = await start(['dnd', '--socket', sock, 'offer', join(dir, 'nope.txt')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmw9: dnd offer: dnd\/offer: .*nope\.txt: .*ENOENT/);
    expect(dnd.offers).toEqual([]);
  });

  it('--wait: until the host takes it (exit 0); --json says so in one object', async () => {
    const { sock, dnd, dir } = await served();
    files(dir);
    dnd.afterOffer = (o) => {
      dnd.emit({ type: 'taken', id: o.id + 10 }); // another offer's: not this one
      dnd.emit({ type: 'taken', id: o.id });
    };
    const r = await start(['dnd', '--socket', sock, 'offer', '--wait', join(dir, 'work')]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('1\n');
    expect(r.err).toBe('vmw9: offer 1 taken by the host\n');
    const j = await start(['--json', 'dnd', '--socket', sock, 'offer', '--wait', join(dir, 'work')]);
    expect(JSON.parse(j.out)).toEqual({ offer: 2, files: 1, bytes: 5, taken: true });
  });

  it('--wait: an offer withdrawn, or whose drag ends untaken, is exit 1', async () => {
    const { sock, dnd, dir } = await served();
    files(dir);
    dnd.afterOffer = (o) => dnd.emit({ type: 'withdrawn', id: o.id });
    const w = await start(['dnd', '--socket', sock, 'offer', '--wait', join(dir, 'work')]);
    expect(w.code).toBe(1);
    expect(w.err).toBe('vmw9: offer 1 was withdrawn before the host took it\n');
    dnd.afterOffer = (o) => dnd.emit({ type: 'cancelled', id: o.id, reason: 'host-cancel DEST_CANCEL' });
    const c = await start(['dnd', '--socket', sock, 'offer', '--wait', join(dir, 'work')]);
    expect(c.code).toBe(1);
    expect(c.err).toBe("vmw9: the host's drag of offer 2 ended without taking it: host-cancel DEST_CANCEL\n");
  });

  it('no path at all is a usage error', async () => {
    const r = await start(['dnd', 'offer']);
    expect(r.code).toBe(2);
  });
});

describe('vmw9 agent --dnd-dir', () => {
  it('stages drops where it says: made absolute, created 0700, shown in dnd/ctl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmw9-cli-dnd-'));
    const host = new VmxHost();
    const server = await serveHost(host, join(dir, 'h.sock'));
    stops.push(() => server.close());
    const fsSock = join(dir, 'fs.sock');
    void start(
      ['--host', `unix!${join(dir, 'h.sock')}`, 'agent', '--listen', `unix!${fsSock}`, '--dnd-dir', 'stage'],
      dir,
    );
    while (!existsSync(fsSock)) await new Promise((r) => setTimeout(r, 20));
    const c = await NinepClient.connect(`unix!${fsSock}`);
    try {
      expect((await c.readFile('/dnd/ctl')).toString()).toMatch(
        new RegExp(`^staging ${join(dir, 'stage')}$`, 'm'),
      );
      expect(statSync(join(dir, 'stage')).mode & 0o777).toBe(0o700);
    } finally {
      c.close();
    }
  });
});

describe('vmw9 dnd offer, another client offering at the same time (review)', () => {
  it("prints its own offer's id, not the other client's committed while it wrote", async () => {
    const { sock, dnd, dir } = await served();
    writeFileSync(join(dir, 'mine.txt'), 'mine');
    // Another client's offer is made while this one's paths are checked (its commit came first).
    const check = dnd.checkPath.bind(dnd);
    let other = false;
    dnd.checkPath = async (p) => {
      if (!other) {
        other = true;
        dnd.offers.push({ id: 1, files: 3, bytes: 3, paths: ['/elsewhere'] });
        dnd.emit({ type: 'offer', id: 1, files: 3, bytes: 3 });
      }
      return check(p);
    };
    const r = await start(['dnd', '--socket', sock, 'offer', join(dir, 'mine.txt')]);
    expect(r.code).toBe(0);
    expect(dnd.offers.at(-1)!.paths).toEqual([join(dir, 'mine.txt')]);
    expect(r.out).toBe(`${dnd.offers.at(-1)!.id}\n`);
  });
});
