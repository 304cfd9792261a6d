/**
 * The host's drag-and-drop controller and its client of the guest's HGFS server, against a
 * scripted guest (test/dnd-guest.ts) whose HGFS server is the simulator's own with one share,
 * `root`, standing for the guest's `/` (docs/protocol/dndcp.md, "Host side", Drag and drop).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Cmd,
  type CpClipboard,
  CpFormat,
  decodeClipboard,
  decodeFileList,
  encodeClipboard,
  encodeFileList,
  Status,
  textItem,
} from '@vmw9/dndcp';
import { encodeCPName, HgfsOp } from '@vmw9/hgfs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DndBusy,
  DndNotNegotiated,
  HgfsServer,
  HostShares,
  NoGuestHgfsServer,
  runConsoleCommand,
  type SetTimer,
  VmxHost,
  type VmxHostOptions,
} from '../src/index.js';
import { type DndScript, DndTestGuest } from './dnd-guest.js';
import { rpc } from './guest-msg.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vmx-dnd-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A guest `/` (a directory) served by the simulator's HGFS server as the share `root`. */
function guestServer(dir: string): HgfsServer {
  const server = new HgfsServer({ shares: new HostShares() });
  server.shares.add('root', dir);
  return server;
}

/** A manual timer: nothing fires until the test says so. */
function manualTimer(): { setTimer: SetTimer; fire(): number } {
  let pending: Array<() => void> = [];
  return {
    setTimer: (fn) => {
      pending.push(fn);
      return () => {
        pending = pending.filter((f) => f !== fn);
      };
    },
    fire: () => {
      const fns = pending;
      pending = [];
      for (const f of fns) f();
      return fns.length;
    },
  };
}

interface VmusrLike {
  /** Where SRC_DROP_DONE says the drop is staged (under the guest's `/`). */
  staging: string[];
  /** What the guest offers when asked QUERY_EXITING (guest paths under `/`), if anything. */
  offer?: string[][];
}

/** Answers as vmusr does (docs/protocol/dndcp.md, "Host side", Drag and drop). */
function vmusrLike(gRoot: string, s: VmusrLike): DndScript {
  return (m) => {
    switch (m.cmd) {
      case Cmd.DND_SRC_DRAG_BEGIN:
        return [{ cmd: Cmd.DND_SRC_DRAG_BEGIN_DONE, sessionId: m.sessionId, params: [4, 0] }];
      case Cmd.DND_SRC_DROP: {
        mkdirSync(join(gRoot, ...s.staging), { recursive: true });
        return [
          {
            cmd: Cmd.DND_SRC_DROP_DONE,
            sessionId: m.sessionId,
            binary: encodeCPName(['root', ...s.staging]),
          },
        ];
      }
      case Cmd.DND_QUERY_EXITING: {
        if (!s.offer) return [{ cmd: Cmd.DND_DRAG_NOT_PENDING, sessionId: m.sessionId }];
        const fl = encodeFileList({
          totalSize: 0n,
          relNames: s.offer.map((p) => p.at(-1)!),
          fullPaths: s.offer.map((p) => Buffer.from(encodeCPName(['root', ...p]))),
        });
        const clip: CpClipboard = { items: new Map([[CpFormat.FILELIST, fl]]), changed: true };
        return [
          {
            cmd: Cmd.DND_DEST_DRAG_ENTER,
            sessionId: m.sessionId,
            params: [4, 0],
            binary: encodeClipboard(clip),
          },
        ];
      }
      default:
        return undefined;
    }
  };
}

async function setUp(s: VmusrLike, opts: VmxHostOptions = {}) {
  const gRoot = join(root, 'guest');
  mkdirSync(gRoot);
  const host = new VmxHost(opts);
  const server = guestServer(gRoot);
  const guest = new DndTestGuest(host, { hgfs: (p) => server.handle(p), script: vmusrLike(gRoot, s) });
  await guest.start();
  return { host, guest, server, gRoot };
}

/** A local tree: a folder with a sub-folder, names with spaces and non-ASCII, an empty file, 1.5 MiB of data. */
function localTree(): { dir: string; big: Buffer } {
  const dir = join(root, 'host', 'tree');
  mkdirSync(join(dir, 'sub dir', 'deeper'), { recursive: true });
  const big = Buffer.alloc(1536 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
  writeFileSync(join(dir, 'big.bin'), big);
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'sub dir', 'ünïcödé ✓.txt'), 'non-ASCII names\n');
  writeFileSync(join(dir, 'sub dir', 'deeper', 'a b c.txt'), 'spaces\n');
  return { dir, big };
}

/** Path → sha256 of every file under `dir` ('/' for folders). */
function digest(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = statSync(join(dir, p));
    if (st.isDirectory()) Object.assign(out, { [`${p}/`]: 'dir' }, digest(dir, p));
    else
      out[p] = createHash('sha256')
        .update(readFileSync(join(dir, p)))
        .digest('hex');
  }
  return out;
}

describe('drag-and-drop negotiation', () => {
  it('the guest PING is answered PING_REPLY with the caps both have; drop and take need it', async () => {
    const host = new VmxHost();
    const guest = new DndTestGuest(host);
    await guest.start({ ping: false });
    expect(() => host.dnd.drop([root])).toThrow(DndNotNegotiated);
    expect(() => host.dnd.take()).toThrow(DndNotNegotiated);
    await guest.dnd.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [4, 0, 0x0aab] });
    await guest.pump();
    expect(host.dnd.negotiated).toMatchObject({ version: 4, guestCaps: 0x0aab, caps: 0x0aab });
    expect(guest.messages(Cmd.PING_REPLY)[0]?.params.slice(0, 3)).toEqual([4, 0, 0x0aab]);
  });
});

describe('drop: host → guest', () => {
  it('a tree: SRC_DRAG_BEGIN (FILELIST), SRC_DROP, the files written into the staging directory, GET_FILES_DONE 0', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['tmp', 'VMwareDnD', 'ab12Cd'] });
    const { dir, big } = localTree();
    const loose = join(root, 'host', 'loose file.txt');
    writeFileSync(loose, 'one more\n');
    const out = await guest.runUntil(host.dnd.drop([dir, loose], { x: 10, y: 20 }));
    expect(out).toMatchObject({
      result: 'done',
      sessionId: 1,
      staging: { components: ['root', 'tmp', 'VMwareDnD', 'ab12Cd'], guestPath: '/tmp/VMwareDnD/ab12Cd' },
      getFilesDone: 0,
      announced: { names: ['tree', 'loose file.txt'], files: 5, dirs: 3 },
    });
    const total = big.length + 16 + 7 + 9 + 0;
    expect(out.announced?.totalBytes).toBe(total);
    // The files, byte for byte.
    const staged = join(gRoot, 'tmp', 'VMwareDnD', 'ab12Cd');
    expect(digest(staged)).toEqual(digest(join(root, 'host')));
    // The messages in order, with their parameters.
    expect(out.messages.map((m) => `${m.dir} ${m.name}`)).toEqual([
      'host→guest DND_SRC_DRAG_BEGIN',
      'guest→host DND_SRC_DRAG_BEGIN_DONE',
      'host→guest DND_SRC_DROP',
      'guest→host DND_SRC_DROP_DONE',
      'host→guest DND_GET_FILES_DONE',
    ]);
    const [begin] = guest.messages(Cmd.DND_SRC_DRAG_BEGIN);
    expect(begin!.sessionId).toBe(1);
    expect(begin!.params.slice(0, 2)).toEqual([4, 0]);
    const fl = decodeFileList(decodeClipboard(begin!.binary).items.get(CpFormat.FILELIST)!);
    expect(fl.relNames).toEqual(['tree', 'loose file.txt']);
    expect(fl.totalSize).toBe(BigInt(total));
    expect(fl.fullPaths[1]!.toString()).toBe(['root', ...loose.split('/').filter(Boolean)].join('\0'));
    expect(guest.messages(Cmd.DND_SRC_DROP)[0]!.params.slice(0, 2)).toEqual([10, 20]);
    expect(guest.messages(Cmd.DND_GET_FILES_DONE)[0]).toMatchObject({ sessionId: 1, status: Status.SUCCESS });
    // The HGFS requests: a session, then per folder CREATE_DIR, per file OPEN → WRITE × n → CLOSE.
    const ops = out.transfer!.requests.map((r) => r.opName);
    expect(ops[0]).toBe('CREATE_SESSION_V4');
    expect(ops.at(-1)).toBe('DESTROY_SESSION_V4');
    const compact = ops
      .slice(1, -1)
      .join(' ')
      .replace(/(WRITE_V3 )+/g, 'WRITE_V3… ');
    expect(compact).toBe(
      'CREATE_DIR_V3 OPEN_V3 WRITE_V3… CLOSE_V3 OPEN_V3 CLOSE_V3 CREATE_DIR_V3 CREATE_DIR_V3 OPEN_V3 WRITE_V3… ' +
        'CLOSE_V3 OPEN_V3 WRITE_V3… CLOSE_V3 OPEN_V3 WRITE_V3… CLOSE_V3',
    );
    // WRITE_V3 carry at most the negotiated packet less the header and the request body.
    const writes = out.transfer!.requests.filter((r) => r.op === HgfsOp.WRITE_V3);
    expect(Math.max(...writes.map((w) => w.requestBytes))).toBeLessThanOrEqual(out.transfer!.packetSize);
    expect(writes.reduce((n, w) => n + w.dataBytes, 0)).toBe(total);
    expect(out.transfer).toMatchObject({
      result: 'done',
      files: 5,
      dirs: 3,
      bytes: total,
      app: 'toolbox-dnd',
    });
    expect(out.transfer!.packetSize).toBe(host.hgfs.maxPacketSize);
    expect(out.transfer!.statuses).toEqual({ SUCCESS: out.transfer!.requests.length });
    expect(out.backdoorCalls).toBeGreaterThan(out.transfer!.requests.length);
    expect(guest.hgfsRequests).toBe(out.transfer!.requests.length);
    expect(host.dnd.current).toBeUndefined();
  });

  it('legacy packets when the host keeps to them (hgfs.packetSize.large off): more, smaller writes', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] }, { hgfs: { largePackets: false } });
    const { dir, big } = localTree();
    const out = await guest.runUntil(host.dnd.drop([join(dir, 'big.bin')]));
    expect(out.result).toBe('done');
    expect(out.transfer!.packetSize).toBe(63488);
    const writes = out.transfer!.requests.filter((r) => r.op === HgfsOp.WRITE_V3);
    expect(writes).toHaveLength(Math.ceil(big.length / (63488 - 52 - 25)));
  });

  it('a text drag: SRC_DRAG_BEGIN with TEXT, SRC_DROP, and no file stage', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const clip = { items: new Map([[CpFormat.TEXT, textItem('dragged text')]]), changed: true };
    const out = await guest.runUntil(host.dnd.drop(clip));
    expect(out).toMatchObject({ result: 'done' });
    expect(out.transfer).toBeUndefined();
    expect(out.messages.map((m) => m.name)).toEqual([
      'DND_SRC_DRAG_BEGIN',
      'DND_SRC_DRAG_BEGIN_DONE',
      'DND_SRC_DROP',
    ]);
    const begin = guest.messages(Cmd.DND_SRC_DRAG_BEGIN)[0]!;
    expect(decodeClipboard(begin.binary).items.get(CpFormat.TEXT)?.toString()).toBe('dragged text\0');
  });

  it('cancelAfterBegin: SRC_CANCEL after SRC_DRAG_BEGIN_DONE', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(host.dnd.drop([localTree().dir], { cancelAfterBegin: true }));
    expect(out.result).toBe('cancelled');
    expect(guest.messages(Cmd.DND_SRC_CANCEL)).toHaveLength(1);
    expect(guest.messages(Cmd.DND_SRC_DROP)).toHaveLength(0);
  });

  it('a guest that never answers SRC_DRAG_BEGIN: after the timeout, SRC_CANCEL and a failed outcome', async () => {
    const t = manualTimer();
    const gRoot = join(root, 'guest');
    mkdirSync(gRoot);
    const host = new VmxHost({ dnd: { setTimer: t.setTimer } });
    const server = guestServer(gRoot);
    const guest = new DndTestGuest(host, { hgfs: (p) => server.handle(p) });
    await guest.start();
    const p = host.dnd.drop([localTree().dir]);
    expect(() => host.dnd.take()).toThrow(DndBusy);
    await guest.pump();
    expect(guest.messages(Cmd.DND_SRC_DRAG_BEGIN)).toHaveLength(1);
    expect(t.fire()).toBe(1);
    const out = await guest.runUntil(p);
    expect(out.result).toBe('failed');
    expect(out.reason).toMatch(/did not send SRC_DRAG_BEGIN_DONE \(session 1\)/);
    expect(guest.messages(Cmd.DND_SRC_CANCEL)).toHaveLength(1);
    expect(host.dnd.current).toBeUndefined();
  });

  it('a TCLO ERROR answer to SRC_DRAG_BEGIN fails the drag at once, no timer needed', async () => {
    const t = manualTimer();
    const host = new VmxHost({ dnd: { setTimer: t.setTimer } });
    const guest = new DndTestGuest(host, { transportAnswer: 'ERROR dnd is off' });
    await guest.start();
    const out = await guest.runUntil(host.dnd.drop([localTree().dir]));
    expect(out.result).toBe('failed');
    expect(out.reason).toBe('the guest refused a drag-and-drop packet: ERROR dnd is off');
    expect(host.dnd.stats.tcloErrors).toBeGreaterThanOrEqual(1);
    // Every wait of the drag was given up with it: nothing left to fire.
    expect(t.fire()).toBe(0);
  });

  it('a guest that refuses the writes: GET_FILES_DONE 1, the refused op and status in the outcome', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage'] });
    guest.script = (m) =>
      m.cmd === Cmd.DND_SRC_DRAG_BEGIN
        ? [{ cmd: Cmd.DND_SRC_DRAG_BEGIN_DONE, sessionId: m.sessionId }]
        : m.cmd === Cmd.DND_SRC_DROP
          ? // A staging directory that does not exist.
            [{ cmd: Cmd.DND_SRC_DROP_DONE, sessionId: m.sessionId, binary: encodeCPName(['root', 'gone']) }]
          : undefined;
    const out = await guest.runUntil(host.dnd.drop([localTree().dir]));
    expect(out).toMatchObject({ result: 'failed', getFilesDone: 1 });
    expect(out.transfer?.refused).toEqual({ op: 'CREATE_DIR_V3', status: 'NO_SUCH_FILE_OR_DIR' });
    expect(guest.messages(Cmd.DND_GET_FILES_DONE)[0]?.status).toBe(Status.ERROR);
    expect(existsSync(join(gRoot, 'gone'))).toBe(false);
  });

  it('a guest that stages the drop but serves no HGFS: GET_FILES_DONE 1 (not a cancel), the reason said', async () => {
    const gRoot = join(root, 'guest');
    mkdirSync(gRoot);
    const host = new VmxHost();
    const guest = new DndTestGuest(host, {
      servesHgfs: false,
      script: vmusrLike(gRoot, { staging: ['stage'] }),
    });
    await guest.start();
    const out = await guest.runUntil(host.dnd.drop([localTree().dir]));
    expect(out).toMatchObject({ result: 'failed', getFilesDone: 1 });
    expect(out.reason).toMatch(/no guest app serves HGFS/);
    expect(out.transfer).toBeUndefined();
    expect(guest.messages(Cmd.DND_GET_FILES_DONE)[0]?.status).toBe(Status.ERROR);
    expect(guest.messages(Cmd.DND_SRC_CANCEL)).toHaveLength(0);
  });

  it('fileStage: the test’s own requests in place of the tree; their result decides GET_FILES_DONE', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage'] });
    const { dir } = localTree();
    const ok = await guest.runUntil(
      host.dnd.drop([dir], {
        fileStage: async (s, staging) => {
          await s.client.writeFile([...staging, 'own.txt'], Buffer.from('mine'));
          return { result: 'done', files: 1, dirs: 0, bytes: 4 };
        },
      }),
    );
    expect(ok).toMatchObject({ result: 'done', getFilesDone: 0, transfer: { files: 1, bytes: 4 } });
    expect(readFileSync(join(gRoot, 'stage', 'own.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(gRoot, 'stage', 'tree'))).toBe(false);
    const bad = await guest.runUntil(
      host.dnd.drop([dir], {
        fileStage: async () => {
          throw new Error('given up');
        },
      }),
    );
    expect(bad).toMatchObject({ result: 'failed', getFilesDone: 1, reason: 'given up' });
  });

  it('a REPLY with an error status from the guest fails the drag at once', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    guest.script = (m) =>
      m.cmd === Cmd.DND_SRC_DRAG_BEGIN
        ? [{ cmd: Cmd.REPLY, sessionId: 0, status: Status.INVALID_PACKET, params: [0] }]
        : undefined;
    const out = await guest.runUntil(host.dnd.drop([localTree().dir]));
    expect(out.result).toBe('failed');
    expect(out.reason).toMatch(/REPLY status 5/);
    expect(host.dnd.lastReply).toEqual({ cmd: 0, status: 5, sessionId: 0 });
  });
});

describe('drop: a host misbehaving on purpose', () => {
  it('outside:dotdot — the `..` write is sent and what the guest answered recorded; GET_FILES_DONE 1', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage', 'd1'] });
    const out = await guest.runUntil(
      host.dnd.drop([localTree().dir], { fault: { kind: 'outside', how: 'dotdot' } }),
    );
    expect(out.outside).toMatchObject({
      how: 'dotdot',
      path: 'root/stage/d1/../vmw9-escape.txt',
      escaped: false,
    });
    // The simulator's server refuses a `..` component as a host does (docs/protocol/hgfs.md, "Names and confinement").
    expect(out.outside!.requests.map((r) => [r.opName, r.statusName])).toEqual([['OPEN_V3', 'INVALID_NAME']]);
    expect(existsSync(join(gRoot, 'stage', 'vmw9-escape.txt'))).toBe(false);
    expect(out).toMatchObject({ result: 'done', getFilesDone: 0 });
  });

  it('outside:absolute — a server that lets it through is reported as such, and the drop fails', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage', 'd1'] });
    mkdirSync(join(gRoot, 'elsewhere'));
    const out = await guest.runUntil(
      host.dnd.drop([localTree().dir], { fault: { kind: 'outside', how: 'absolute', dir: ['elsewhere'] } }),
    );
    expect(out.outside).toMatchObject({ path: 'root/elsewhere/vmw9-escape.txt', escaped: true });
    expect(out.outside!.requests.map((r) => r.opName)).toEqual(['OPEN_V3', 'WRITE_V3', 'CLOSE_V3']);
    expect(readFileSync(join(gRoot, 'elsewhere', 'vmw9-escape.txt'), 'utf8')).toMatch(/outside the staging/);
    expect(out).toMatchObject({ result: 'failed', getFilesDone: 1 });
  });

  it('outside:symlink — CREATE_SYMLINK_V3 in the staging directory, then an OPEN through it', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(
      host.dnd.drop([localTree().dir], { fault: { kind: 'outside', how: 'symlink', target: '/tmp' } }),
    );
    expect(out.outside!.requests.map((r) => r.opName).slice(0, 2)).toEqual(['CREATE_SYMLINK_V3', 'OPEN_V3']);
    expect(out.outside!.path).toBe('root/stage/vmw9-link-out/vmw9-escape.txt');
  });

  it('oversize — the last file gets more bytes than the FILELIST announced', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage'] });
    const { dir } = localTree();
    const out = await guest.runUntil(host.dnd.drop([dir], { fault: { kind: 'oversize', extraBytes: 1000 } }));
    expect(out.result).toBe('done');
    expect(out.transfer!.bytes).toBe(out.announced!.totalBytes + 1000);
    // The last file in walk order: tree/sub dir/ünïcödé ✓.txt, 16 bytes + 1000 of filler.
    const last = readFileSync(join(gRoot, 'stage', 'tree', 'sub dir', 'ünïcödé ✓.txt'));
    expect(last.length).toBe(16 + 1000);
    expect(last.subarray(16).every((b) => b === 0x58)).toBe(true);
  });

  it('stop — no request after the budget: no CLOSE, no DESTROY_SESSION, no GET_FILES_DONE, no cancel', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(
      host.dnd.drop([localTree().dir], { fault: { kind: 'stop', afterBytes: 100_000 } }),
    );
    expect(out.result).toBe('stopped');
    expect(out.transfer!.bytes).toBeLessThanOrEqual(100_000);
    expect(out.transfer!.bytes).toBeGreaterThan(0);
    const ops = out.transfer!.requests.map((r) => r.opName);
    expect(ops.at(-1)).toBe('WRITE_V3');
    expect(ops).not.toContain('DESTROY_SESSION_V4');
    expect(guest.messages(Cmd.DND_GET_FILES_DONE)).toHaveLength(0);
    expect(guest.messages(Cmd.DND_SRC_CANCEL)).toHaveLength(0);
  });

  it('malformed-hgfs — a V4 header cut to 20 bytes is sent first (STALE_SESSION, as vmtoolsd), then the files', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(
      host.dnd.drop([localTree().dir], { fault: { kind: 'malformed-hgfs', packet: 'short' } }),
    );
    const bad = out.transfer!.requests[1]!;
    expect(bad).toMatchObject({
      opName: 'MALFORMED',
      malformed: true,
      requestBytes: 20,
      replyBytes: 52,
      statusName: 'STALE_SESSION',
    });
    expect(out.result).toBe('done');
    expect(out.transfer!.statuses).toMatchObject({ STALE_SESSION: 1 });
  });

  it('malformed-hgfs:size and :name — what the server answers is recorded against the op', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    for (const packet of ['size', 'name'] as const) {
      const out = await guest.runUntil(
        host.dnd.drop([localTree().dir], { fault: { kind: 'malformed-hgfs', packet } }),
      );
      const bad = out.transfer!.requests[1]!;
      expect(bad.opName).toBe('OPEN_V3');
      // The lying packetSize fails the header checks; the overlong name only the server's.
      expect(bad.malformed).toBe(packet === 'size' ? true : undefined);
      expect(bad.replyBytes).toBeGreaterThan(0);
      expect(bad.statusName).not.toBe('SUCCESS');
      expect(out.result).toBe('done');
      rmSync(join(root, 'guest', 'stage', 'tree'), { recursive: true });
      rmSync(join(root, 'host'), { recursive: true });
    }
  });

  it('malformed-dnd — a bad packet in place of GET_FILES_DONE: the guest answers REPLY INVALID_PACKET', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(host.dnd.drop([localTree().dir], { fault: { kind: 'malformed-dnd' } }));
    expect(out.result).toBe('stopped');
    await guest.pump();
    expect(host.dnd.lastReply).toEqual({ cmd: 0, status: Status.INVALID_PACKET, sessionId: 0 });
    expect(guest.messages(Cmd.DND_GET_FILES_DONE)).toHaveLength(0);
  });
});

describe('take: guest → host', () => {
  it('nothing offered: QUERY_EXITING {4, 0, caps, x, y} → DRAG_NOT_PENDING', async () => {
    const { host, guest } = await setUp({ staging: ['stage'] });
    const out = await guest.runUntil(host.dnd.take(undefined, { x: 300, y: 400 }));
    expect(out).toMatchObject({ result: 'nothing-offered', sessionId: 1 });
    expect(guest.messages(Cmd.DND_QUERY_EXITING)[0]!.params).toEqual([4, 0, 0x0aab, 300, 400, 0]);
  });

  it('an offered tree is read into DIR, then DEST_DROP; the requests are the reading sequence', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage'], offer: [['home', 'u', 'out']] });
    const src = join(gRoot, 'home', 'u', 'out');
    mkdirSync(join(src, 'inner'), { recursive: true });
    const data = Buffer.alloc(700_000, 0x41);
    writeFileSync(join(src, 'inner', 'data.bin'), data);
    writeFileSync(join(src, 'zero'), '');
    // Made by take (as mkdir -p), before the guest is asked.
    const into = join(root, 'taken', 'deeper');
    const out = await guest.runUntil(host.dnd.take(into, { x: 5, y: 6 }));
    expect(out).toMatchObject({
      result: 'taken',
      dir: into,
      offered: { names: ['out'], paths: ['/home/u/out'] },
    });
    expect(digest(join(into, 'out'))).toEqual(digest(src));
    expect(out.messages.map((m) => `${m.dir} ${m.name}`)).toEqual([
      'host→guest DND_QUERY_EXITING',
      'guest→host DND_DEST_DRAG_ENTER',
      'host→guest DND_DEST_DRAG_ENTER_REPLY',
      'host→guest DND_DEST_DROP',
    ]);
    expect(guest.messages(Cmd.DND_DEST_DROP)[0]!.params.slice(0, 2)).toEqual([5, 6]);
    const ops = out.transfer!.requests.map((r) => r.opName);
    expect(ops.slice(0, 3)).toEqual(['CREATE_SESSION_V4', 'GETATTR_V3', 'SEARCH_OPEN_V3']);
    expect(ops).toContain('SEARCH_CLOSE_V3');
    expect(ops.filter((o) => o === 'OPEN_V3')).toHaveLength(2);
    expect(ops.at(-1)).toBe('DESTROY_SESSION_V4');
    expect(out.transfer).toMatchObject({ files: 2, dirs: 2, bytes: data.length });
  });

  it('an offer that cannot be read: DEST_CANCEL and a failed outcome', async () => {
    const { host, guest } = await setUp({ staging: ['stage'], offer: [['no', 'such']] });
    const into = join(root, 'taken');
    mkdirSync(into);
    const out = await guest.runUntil(host.dnd.take(into));
    expect(out.result).toBe('failed');
    expect(out.transfer?.refused).toEqual({ op: 'GETATTR_V3', status: 'NO_SUCH_FILE_OR_DIR' });
    expect(guest.messages(Cmd.DND_DEST_CANCEL)).toHaveLength(1);
    expect(guest.messages(Cmd.DND_DEST_DROP)).toHaveLength(0);
  });

  it('a DIR that cannot be made is refused at once, before QUERY_EXITING', async () => {
    const { host, guest } = await setUp({ staging: ['stage'], offer: [['x']] });
    writeFileSync(join(root, 'a-file'), '');
    expect(() => host.dnd.take(join(root, 'a-file', 'sub'))).toThrow(/ENOTDIR/);
    await guest.pump();
    expect(guest.messages(Cmd.DND_QUERY_EXITING)).toHaveLength(0);
    expect(host.dnd.current).toBeUndefined();
  });

  it('cancel: DEST_CANCEL instead of reading', async () => {
    const { host, guest } = await setUp({ staging: ['stage'], offer: [['x']] });
    const out = await guest.runUntil(host.dnd.take(undefined, { cancel: true }));
    expect(out).toMatchObject({ result: 'cancelled', offered: { names: ['x'] } });
    expect(guest.hgfsRequests).toBe(0);
  });
});

describe('the guest HGFS client over TCLO f', () => {
  it('addresses only an app that registered tools.capability.hgfs_server APP 1 and has a channel', async () => {
    const host = new VmxHost();
    expect(() => host.guestHgfs.serverApp()).toThrow(NoGuestHgfsServer);
    const guest = new DndTestGuest(host, { app: 'toolbox', hgfs: () => undefined });
    await guest.start({ ping: false });
    expect(host.guestHgfs.servers()).toEqual(['toolbox']);
    expect(() => host.guestHgfs.serverApp('toolbox-dnd')).toThrow(/toolbox-dnd does not serve HGFS/);
    // A packet the server drops: `OK ` and nothing, recorded as no reply.
    const { record } = await guest.runUntil(host.guestHgfs.sendRaw(new Uint8Array(0)));
    expect(record).toMatchObject({ opName: 'MALFORMED', replyBytes: 0 });
    expect(record.status).toBeUndefined();
    expect(record.error).toBeUndefined();
    // It said it stops serving: no longer addressed.
    await rpc(guest.port, 'tools.capability.hgfs_server toolbox 0');
    expect(host.guestHgfs.servers()).toEqual([]);
  });

  it('a guest answering `f ` with ERROR: the request fails as a transport error, recorded with the answer', async () => {
    const host = new VmxHost();
    const guest = new DndTestGuest(host, { fMessage: () => Buffer.from('ERROR no way') });
    await guest.start({ ping: false });
    const out = await guest.runUntil(host.ftGet(['/x'], root));
    expect(out).toMatchObject({ result: 'failed', statuses: { TRANSPORT: 1 } });
    expect(out.requests[0]).toMatchObject({ opName: 'CREATE_SESSION_V4', error: 'ERROR no way' });
    expect(out.error).toMatch(/TCLO f to toolbox-dnd: ERROR no way/);
  });

  it('ft put and ft get on the console: progress and the outcome as notices; the files round-trip', async () => {
    const { host, guest, gRoot } = await setUp({ staging: ['stage'] });
    mkdirSync(join(gRoot, 'in'));
    const { dir } = localTree();
    const lines: string[] = [];
    const outcome = (label: string) =>
      new Promise<string>((resolve) => {
        const on = (l: string) => {
          lines.push(l);
          if (l.startsWith(`${label}: `) && /bytes;|failed|error/.test(l)) {
            host.notices.off('line', on);
            resolve(l);
          }
        };
        host.notices.on('line', on);
      });
    let done = outcome('ft put');
    expect(runConsoleCommand(host, `ft put "${dir}" /in`)).toBe(
      "ft put: 1 item into the guest via toolbox-dnd's HGFS server",
    );
    expect(await guest.runUntil(done)).toMatch(
      /^ft put: 4 files, 3 folders, \d+ bytes; \d+ HGFS requests to toolbox-dnd/,
    );
    expect(lines.some((l) => /^ft put: \d+ files, \d+ folders, \d+ bytes \(tree\/big\.bin\)$/.test(l))).toBe(
      true,
    );
    expect(digest(join(gRoot, 'in'))).toEqual(digest(join(root, 'host')));
    const back = join(root, 'back');
    mkdirSync(back);
    done = outcome('ft get');
    runConsoleCommand(host, `ft @toolbox-dnd get /in/tree ${back}`);
    expect(await guest.runUntil(done)).toMatch(/^ft get: 4 files, 3 folders/);
    expect(digest(back)).toEqual(digest(join(root, 'host')));
    expect(runConsoleCommand(host, 'ft')).toBe('guest HGFS servers: toolbox-dnd (registered: toolbox-dnd 1)');
    expect(runConsoleCommand(host, 'ft @nobody put a b')).toMatch(
      /^error: the guest app nobody does not serve HGFS/,
    );
  });

  it('drop and take on the console: started, staged, progress, outcome', async () => {
    const { host, guest } = await setUp({ staging: ['tmp', 'VMwareDnD', 'q1w2e3'] });
    const lines: string[] = [];
    let finished!: () => void;
    const over = new Promise<void>((r) => {
      finished = r;
    });
    host.notices.on('line', (l: string) => {
      lines.push(l);
      if (/^(drop|take) \d+: (done|nothing|failed)/.test(l)) finished();
    });
    expect(runConsoleCommand(new VmxHost(), 'take')).toBe(
      'error: no guest has negotiated drag-and-drop version 4',
    );
    const { dir } = localTree();
    expect(runConsoleCommand(host, `drop --at 3,4 '${dir}'`)).toBe('drop 1: dragging 1 item into the guest');
    await guest.runUntil(over);
    expect(lines[0]).toBe('drop 1: the guest staged it in /tmp/VMwareDnD/q1w2e3; writing the files');
    expect(lines.at(-1)).toMatch(
      /^drop 1: done into \/tmp\/VMwareDnD\/q1w2e3: 4 files, 3 folders, \d+ bytes; .*; GET_FILES_DONE 0$/,
    );
    expect(lines.some((l) => /^drop 1: \d\/4 files, \d folders, \d+\/\d+ bytes/.test(l))).toBe(true);
    const next = new Promise<void>((r) => {
      finished = r;
    });
    expect(runConsoleCommand(host, 'take')).toBe(
      'take 2: asking the guest whether a drag is leaving it (QUERY_EXITING)',
    );
    await guest.runUntil(next);
    expect(lines.at(-1)).toBe('take 2: nothing offered (DRAG_NOT_PENDING)');
    expect(runConsoleCommand(host, 'drop --fault bogus x')).toMatch(/^error: unknown fault "bogus"/);
    expect(runConsoleCommand(host, 'drop /no/such/path')).toMatch(/^error: ENOENT/);
    const third = new Promise<void>((r) => {
      finished = r;
    });
    runConsoleCommand(host, 'take');
    expect(runConsoleCommand(host, 'take')).toBe('error: a drag is in progress (take 3)');
    await guest.runUntil(third);
    expect(runConsoleCommand(host, 'drop')).toMatch(/^error: drop /);
    expect(runConsoleCommand(host, 'dnd')).toMatch(
      /^drag-and-drop version 4 \(guest caps 0xaab, accepted 0xaab\)\nin progress: nothing/,
    );
  });

  it('a TCLO channel that closes with a request outstanding fails the transfer at once (no timer needed)', async () => {
    const t = manualTimer();
    const { host, guest } = await setUp({ staging: ['stage'] }, { dnd: { setTimer: t.setTimer } });
    const { dir } = localTree();
    const p = host.ftPut([dir], '/');
    while (!host.tclo.pending().includes('f')) await new Promise((r) => setImmediate(r));
    // One turn delivers CREATE_SESSION_V4; then the host resets before the guest answers.
    await guest.runUntil(Promise.resolve(), { drain: false });
    expect(host.tclo.pending()).not.toContain('f');
    host.reset();
    const out = await p;
    expect(out.result).toBe('failed');
    expect(out.error).toMatch(/channel \d+ closed before the guest answered/);
    expect(out.requests[0]).toMatchObject({ opName: 'CREATE_SESSION_V4' });
  });

  it('with both the system service and the desktop tools serving HGFS, the desktop tools (toolbox-dnd) are addressed', async () => {
    const host = new VmxHost();
    const vmsvc = new DndTestGuest(host, { app: 'toolbox', hgfs: () => undefined });
    await vmsvc.start({ ping: false });
    const vmusr = new DndTestGuest(host, { hgfs: () => undefined });
    await vmusr.start({ ping: false });
    expect(host.guestHgfs.servers().sort()).toEqual(['toolbox', 'toolbox-dnd']);
    expect(host.guestHgfs.serverApp()).toBe('toolbox-dnd');
    expect(host.guestHgfs.open().app).toBe('toolbox-dnd');
    expect(host.guestHgfs.open({ app: 'toolbox' }).app).toBe('toolbox');
  });
});

describe('TcloHost.request', () => {
  it('an aborted request still queued is withdrawn; cancel() rejects a queued one', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const ac = new AbortController();
    const a = host.tclo.request(Buffer.from('f x'), 'toolbox', { label: 'f', signal: ac.signal });
    const b = host.tclo.request(Buffer.from('f y'), 'toolbox', { label: 'f' });
    expect(host.tclo.pending()).toEqual(['f', 'f']);
    ac.abort();
    await expect(a).rejects.toMatchObject({ name: 'TcloRequestFailed', why: 'aborted' });
    expect(host.tclo.pending()).toEqual(['f']);
    expect(host.tclo.cancel(() => true)).toBe(1);
    await expect(b).rejects.toMatchObject({ why: 'cancelled' });
  });
});
