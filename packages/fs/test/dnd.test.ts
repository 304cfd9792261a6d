/**
 * `dnd/` (docs/protocol/tree.md §18) through 9P, over a drag-and-drop source the test drives: the
 * record formats of dnd/events (streamed, each read the next record after the open) and their
 * `dnd …` copies in `events`, dnd/status, dnd/offer (paths checked per line, the commit at the
 * clunk, its errors), dnd/ctl. What the agent does behind these files is tested in
 * packages/agent/test/dnd.test.ts.
 */
import { mkdirSync, mkdtempSync, stat, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient, RemoteError } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildVmwareTree,
  type DndTreeEvent,
  type DndTreeOffer,
  type DndTreeSource,
  type DndTreeStatus,
  dndEventLine,
  dndStatusLine,
  HostEventHub,
  OFFER_MAX_BYTES,
  parseDndEventLine,
  parseDndStatusLine,
  plan9Quote,
  type ServedTree,
  serveVmwareTree,
} from '../src/index.js';

/** A drag-and-drop source the test drives and whose calls it sees. */
class TestDnd implements DndTreeSource {
  readonly listeners = new Set<(e: DndTreeEvent) => void>();
  current: DndTreeStatus = { kind: 'idle' };
  offer_: DndTreeOffer | undefined;
  enabled = true;
  readonly calls: string[] = [];
  offerError: Error | undefined;
  private nextId = 1;

  emit(e: DndTreeEvent): void {
    for (const l of this.listeners) l(e);
  }
  subscribe(l: (e: DndTreeEvent) => void) {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  status() {
    return this.current;
  }
  settings() {
    return { enabled: this.enabled, state: 'ready', staging: '/home/u/.cache/vmw9/dnd' };
  }
  offered() {
    return this.offer_;
  }
  async checkPath(path: string): Promise<void> {
    await promisify(stat)(path);
  }
  async offer(paths: readonly string[]): Promise<DndTreeOffer> {
    this.calls.push(`offer ${paths.join('|')}`);
    if (this.offerError) throw this.offerError;
    this.offer_ = { id: this.nextId++, files: paths.length, bytes: 10, paths };
    return this.offer_;
  }
  withdraw(): void {
    this.calls.push('withdraw');
    this.offer_ = undefined;
  }
  cancel(): void {
    this.calls.push('cancel');
  }
  setEnabled(on: boolean): void {
    this.calls.push(on ? 'on' : 'off');
    this.enabled = on;
  }
}

let served: ServedTree | undefined;
let client: NinepClient | undefined;
afterEach(async () => {
  client?.close();
  await served?.close();
  client = undefined;
  served = undefined;
});

async function setup(opts: { dnd?: boolean } = {}) {
  const port = new SimBackdoorPort(new VmxHost());
  const dnd = new TestDnd();
  const tree = buildVmwareTree({
    port,
    rpc: RpciClient.overPort(port),
    events: new HostEventHub(),
    transport: 'sim (test)',
    ...(opts.dnd === false ? {} : { dnd }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'vmw9-dnd-'));
  served = await serveVmwareTree(tree, { listen: `unix!${join(dir, 'fs.sock')}` });
  client = await NinepClient.connect(`unix!${join(dir, 'fs.sock')}`, { version: '9P2000.u' });
  return { dnd, c: client, dir, tree };
}

const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();

const errorOf = async (p: Promise<unknown>): Promise<RemoteError> => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RemoteError);
  return e as RemoteError;
};

/** A reader of an event file opened now: `next()` is its next record. */
async function reader(c: NinepClient, path: string) {
  const fid = await c.walk(path);
  await c.open(fid, 'r');
  return {
    next: async () => Buffer.from(await c.read(fid, 0, 8192)).toString(),
    close: () => c.clunk(fid),
  };
}

describe('dnd/ in the tree', () => {
  it('is there only when the agent gives drag and drop', async () => {
    const { c } = await setup({ dnd: false });
    expect((await c.readdir('/')).map((e) => e.name)).not.toContain('dnd');
  });

  it('lists events, status, offer and ctl', async () => {
    const { c } = await setup();
    expect((await c.readdir('/dnd')).map((e) => e.name).sort()).toEqual(['ctl', 'events', 'offer', 'status']);
  });
});

describe('dnd/events', () => {
  it('streams one record per read, each the next after the open; events gets each as a dnd line', async () => {
    const { c, dnd } = await setup();
    dnd.emit({ type: 'taken', id: 99 }); // before the open: not this reader's
    const ev = await reader(c, '/dnd/events');
    const main = await reader(c, '/events');
    const pending = ev.next();
    dnd.emit({ type: 'begin', id: 1, items: 3, bytes: 2000012 });
    dnd.emit({ type: 'drop', id: 1, files: 4, bytes: 2000012, path: '/home/u/.cache/vmw9/dnd/drop.Ab12Cd' });
    dnd.emit({ type: 'failed', id: 2, reason: 'the host wrote more than it announced\n(2 MB)' });
    dnd.emit({ type: 'offer', id: 3, files: 2, bytes: 11 });
    dnd.emit({ type: 'cancelled', id: 3, reason: 'the host cancelled' });
    dnd.emit({ type: 'taken', id: 3 });
    dnd.emit({ type: 'withdrawn', id: 4 });
    expect(await pending).toBe('begin 1 3 2000012\n');
    const rest = [];
    for (let i = 0; i < 6; i++) rest.push(await ev.next());
    expect(rest).toEqual([
      'drop 1 4 2000012 /home/u/.cache/vmw9/dnd/drop.Ab12Cd\n',
      'failed 2 the host wrote more than it announced (2 MB)\n',
      'offer 3 2 11\n',
      'cancelled 3 the host cancelled\n',
      'taken 3\n',
      'withdrawn 4\n',
    ]);
    expect(await main.next()).toBe('dnd begin 1 3 2000012\n');
    expect(await main.next()).toBe('dnd drop 1 4 2000012 /home/u/.cache/vmw9/dnd/drop.Ab12Cd\n');
    await ev.close();
    await main.close();
  });

  it('a path that needs it is quoted as Plan 9 quotes', () => {
    expect(dndEventLine({ type: 'drop', id: 7, files: 1, bytes: 0, path: "/x/it's here" })).toBe(
      "drop 7 1 0 '/x/it''s here'",
    );
    expect(plan9Quote('/plain/path')).toBe('/plain/path');
    expect(plan9Quote('')).toBe("''");
    expect(plan9Quote('a\tb')).toBe("'a\tb'");
  });

  it('every record reads back as it was written (parseDndEventLine, for clients)', () => {
    const records: DndTreeEvent[] = [
      { type: 'begin', id: 1, items: 3, bytes: 2000012 },
      { type: 'drop', id: 1, files: 4, bytes: 2000012, path: '/a/drop.Ab12Cd' },
      { type: 'drop', id: 2, files: 0, bytes: 0, path: "/a b/it's" },
      { type: 'failed', id: 3, reason: 'the host stopped: no request for 30 s' },
      { type: 'offer', id: 4, files: 2, bytes: 11 },
      { type: 'taken', id: 4 },
      { type: 'cancelled', id: 4, reason: 'host cancel' },
      { type: 'withdrawn', id: 4 },
    ];
    for (const r of records) expect(parseDndEventLine(`${dndEventLine(r)}\n`)).toEqual(r);
    for (const bad of ['', 'drop', 'drop x 1 2 /p', 'offer 1 2', "drop 1 2 3 '/unbalanced", 'gone 1'])
      expect(parseDndEventLine(bad)).toBeNull();
    const states: DndTreeStatus[] = [
      { kind: 'idle' },
      { kind: 'receiving', id: 2, files: { done: 1 }, bytes: { done: 3, total: 9 } },
      { kind: 'receiving', id: 2, files: { done: 1, total: 4 }, bytes: { done: 3, total: 9 } },
      { kind: 'offering', id: 5, files: 1, bytes: 7 },
    ];
    for (const st of states) expect(parseDndStatusLine(dndStatusLine(st))).toEqual(st);
    expect(parseDndStatusLine('busy')).toBeNull();
  });

  it('several readers each get every record', async () => {
    const { c, dnd } = await setup();
    const a = await reader(c, '/dnd/events');
    const b = await reader(c, '/dnd/events');
    dnd.emit({ type: 'taken', id: 5 });
    expect(await a.next()).toBe('taken 5\n');
    expect(await b.next()).toBe('taken 5\n');
    await a.close();
    await b.close();
  });
});

describe('dnd/status', () => {
  it('is one line: idle, receiving with files and bytes done of total, offering', async () => {
    const { c, dnd } = await setup();
    expect(await text(c, '/dnd/status')).toBe('idle\n');
    dnd.current = { kind: 'receiving', id: 4, files: { done: 1 }, bytes: { done: 1024, total: 2000012 } };
    expect(await text(c, '/dnd/status')).toBe('receiving 4 files 1/? bytes 1024/2000012\n');
    dnd.current = { kind: 'receiving', id: 4, files: { done: 2, total: 3 }, bytes: { done: 5, total: 5 } };
    expect(await text(c, '/dnd/status')).toBe('receiving 4 files 2/3 bytes 5/5\n');
    dnd.current = { kind: 'offering', id: 6, files: 2, bytes: 11 };
    expect(await text(c, '/dnd/status')).toBe('offering 6 files 2 bytes 11\n');
  });
});

describe('dnd/offer', () => {
  function files(dir: string) {
    const a = join(dir, 'a file.txt');
    writeFileSync(a, 'hello');
    const d = join(dir, 'folder');
    mkdirSync(d);
    return { a, d };
  }

  it('offers the paths written, one per line, at the close; a read shows the offer', async () => {
    const { c, dnd, dir } = await setup();
    const { a, d } = files(dir);
    expect(await text(c, '/dnd/offer')).toBe('');
    await c.writeFile('/dnd/offer', Buffer.from(`${a}\n\n${d}`));
    expect(dnd.calls).toEqual([`offer ${a}|${d}`]);
    expect(await text(c, '/dnd/offer')).toBe(`offer 1 2 10\n${a}\n${d}\n`);
  });

  it('open ORDWR, a read after the writes commits them and gives that offer; the close commits nothing more', async () => {
    const { c, dnd, dir } = await setup();
    const { a, d } = files(dir);
    const fid = await c.walk('/dnd/offer');
    await c.open(fid, 'rw');
    await c.write(fid, 0, Buffer.from(`${a}\n${d}`));
    expect(dnd.calls).toEqual([]);
    // Another client's offer, committed in between, is not this read's.
    await c.writeFile('/dnd/offer', Buffer.from(`${d}\n`));
    const got = Buffer.from(await c.read(fid, 0, 8192)).toString();
    expect(got).toBe(`offer 2 2 10\n${a}\n${d}\n`);
    expect(Buffer.from(await c.read(fid, 0, 8192)).toString()).toBe(got);
    await c.clunk(fid);
    expect(dnd.calls).toEqual([`offer ${d}`, `offer ${a}|${d}`]);
  });

  it('lines split across writes are joined before they are checked', async () => {
    const { c, dnd, dir } = await setup();
    const { a } = files(dir);
    const fid = await c.walk('/dnd/offer');
    await c.open(fid, 'w');
    await c.write(fid, 0, Buffer.from(a.slice(0, 5)));
    await c.write(fid, 5, Buffer.from(`${a.slice(5)}\n`));
    await c.clunk(fid);
    expect(dnd.calls).toEqual([`offer ${a}`]);
  });

  it('a missing path fails its write (ENOENT), the fid offers nothing, later writes say so', async () => {
    const { c, dnd, dir } = await setup();
    const { a } = files(dir);
    const fid = await c.walk('/dnd/offer');
    await c.open(fid, 'w');
    const e = await errorOf(c.write(fid, 0, Buffer.from(`${a}\n${join(dir, 'nope')}\n`)));
    expect(e.ename).toMatch(/dnd\/offer: .*nope: .*ENOENT/);
    expect(e.errno).toBe(2);
    const again = await errorOf(c.write(fid, 0, Buffer.from(`${a}\n`)));
    expect(again.ename).toMatch(/an earlier write failed; reopen to offer again/);
    await c.clunk(fid);
    expect(dnd.calls).toEqual([]);
  });

  it("a missing last path (no newline) is the close's error; a relative path is refused", async () => {
    const { c, dnd, dir } = await setup();
    const e = await errorOf(c.writeFile('/dnd/offer', Buffer.from(join(dir, 'gone'))));
    expect(e.ename).toMatch(/gone/);
    const rel = await errorOf(c.writeFile('/dnd/offer', Buffer.from('relative/path\n')));
    expect(rel.ename).toBe('dnd/offer: not an absolute path: relative/path');
    expect(dnd.calls).toEqual([]);
  });

  it("the service's refusal is the close's error", async () => {
    const { c, dnd, dir } = await setup();
    const { a } = files(dir);
    dnd.offerError = new Error('drag and drop is off');
    const e = await errorOf(c.writeFile('/dnd/offer', Buffer.from(`${a}\n`)));
    expect(e.ename).toBe('host: drag and drop is off');
  });

  it('an empty commit withdraws the offer; more than the limit is refused', async () => {
    const { c, dnd, dir } = await setup();
    const { a } = files(dir);
    await c.writeFile('/dnd/offer', Buffer.from(`${a}\n`));
    await c.writeFile('/dnd/offer', Buffer.alloc(0));
    expect(dnd.calls).toEqual([`offer ${a}`, 'withdraw']);
    expect(await text(c, '/dnd/offer')).toBe('');
    const big = await errorOf(c.writeFile('/dnd/offer', Buffer.alloc(OFFER_MAX_BYTES + 1, 0x2f)));
    expect(big.ename).toMatch(/at most 1048576 bytes/);
  });
});

describe('dnd/ctl', () => {
  it('reads the switch, the state and the staging root; takes cancel, withdraw, on, off', async () => {
    const { c, dnd } = await setup();
    expect(await text(c, '/dnd/ctl')).toBe('dnd on\nstate ready\nstaging /home/u/.cache/vmw9/dnd\n');
    await c.writeFile('/dnd/ctl', Buffer.from('off\n'));
    expect(await text(c, '/dnd/ctl')).toMatch(/^dnd off$/m);
    await c.writeFile('/dnd/ctl', Buffer.from('cancel\nwithdraw\non\n'));
    expect(dnd.calls).toEqual(['off', 'cancel', 'withdraw', 'on']);
    const e = await errorOf(c.writeFile('/dnd/ctl', Buffer.from('frob\n')));
    expect(e.ename).toBe('unknown control message: "frob"');
    const args = await errorOf(c.writeFile('/dnd/ctl', Buffer.from('cancel now\n')));
    expect(args.ename).toBe('bad # args to command: "cancel now"');
  });
});
