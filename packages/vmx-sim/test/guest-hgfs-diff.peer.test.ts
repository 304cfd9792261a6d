/**
 * Differential, real peer: the same host-side HGFS request sequence, sent over TCLO `f ` by the
 * simulator's client (packages/vmx-sim/src/guest-hgfs/), to open-vm-tools' own guest server
 * (unmodified vmtoolsd, vmsvc, its hgfsServer plugin, under vmx-trap) and to vmw9's (the vmw9
 * agent's dnd service: @vmw9/hgfs with GuestShares, inside a drop the host drags into it, so the
 * requests go to the staging directory it grants). The sequence: a tree written into the staging
 * directory (folders, a 16 MiB file, names with spaces and non-ASCII characters, an empty file)
 * and read back, one read too large, writes aimed outside it (`..`, an absolute path, a symlink
 * the host makes), malformed packets. The files must be byte-identical and the statuses equal
 * request by request, except where vmw9's confined policy deliberately differs from vmtoolsd's
 * whole-`/` share (docs/protocol/hgfs.md, "The guest's shares"): those rows are asserted exactly
 * as documented.
 */
import type { ChildProcess } from 'node:child_process';
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
import { HgfsOp, HgfsOpenFlags, HgfsOpenMode } from '@vmw9/hgfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DropOutcome,
  type GuestHgfsSession,
  getTree,
  guestPath,
  type HgfsRequestRecord,
  MALFORMED_KINDS,
  putTree,
  type SimServer,
  scanLocal,
  sendMalformed,
  serveHost,
  shownGuestPath,
  VmxHost,
  writeOutside,
} from '../src/index.js';
import { HGFS_PLUGIN, Peers, skipReason, TRAP, until, VMW9_CLI, which } from './peer-harness.js';

const skip = skipReason([
  ['vmx-trap (pnpm build)', existsSync(TRAP)],
  ['the vmw9 command (pnpm build)', existsSync(VMW9_CLI)],
  ['vmtoolsd (open-vm-tools)', which('vmtoolsd')],
  [`${HGFS_PLUGIN} (open-vm-tools)`, existsSync(HGFS_PLUGIN)],
]);

const BIG = 16 * 1024 * 1024;

/** One request of the sequence, as each side answered it. */
interface Row {
  step: string;
  op: string;
  /** The status name, or NO_REPLY / GARBLED (a stale buffer) / TRANSPORT. */
  answer: string;
}

/** What one side did with the sequence. */
interface Run {
  rows: Row[];
  /** The tree as it was in the staging directory right after the put. */
  staged: Record<string, string>;
  outside: string;
  back: string;
  escaped: Record<string, boolean>;
}

const answer = (r: HgfsRequestRecord): string =>
  r.statusName ?? (r.error ? 'TRANSPORT' : r.garbled ? 'GARBLED' : 'NO_REPLY');

/** Path → sha256 of every file under `dir` ('dir' for folders). */
function digest(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(join(dir, p)).isDirectory()) Object.assign(out, { [`${p}/`]: 'dir' }, digest(dir, p));
    else
      out[p] = createHash('sha256')
        .update(readFileSync(join(dir, p)))
        .digest('hex');
  }
  return out;
}

/**
 * The host side of the sequence in the session `s`: the tree written into `staging` and read
 * back (into `side`/back), one read too large, the writes aimed outside (an absolute path into
 * `side`/outside), the malformed packets. The reads come before the hostile steps, so that a
 * server that gives up on a drop after them (the vmw9 agent, item 5) still has them to compare.
 */
async function sequence(
  s: GuestHgfsSession,
  staging: readonly string[],
  side: string,
  source: string,
): Promise<Run> {
  const outside = join(side, 'outside');
  const back = join(side, 'back');
  const rows: Row[] = [];
  let from = s.requests.length;
  const mark = (step: string) => {
    for (const r of s.requests.slice(from)) rows.push({ step, op: r.opName, answer: answer(r) });
    from = s.requests.length;
  };
  const put = await putTree(s, scanLocal([source]), staging);
  mark('put');
  if (put.result !== 'done') throw new Error(`the put failed: ${put.error?.message}`);
  // The guest is this machine: the staging directory's guest path is a path here.
  const staged = digest(shownGuestPath([...staging, 'tree']));
  mkdirSync(back);
  const get = await getTree(s, [[...staging, 'tree']], back);
  mark('get');
  if (get.result !== 'done') throw new Error(`the get failed: ${get.error?.message}`);
  // One byte more than the largest read (packet − 52 − 13, docs/protocol/hgfs.md, "The host as
  // client of the guest's server"): what HgfsClient's own read size would ask.
  const big = await s.client.open([...staging, 'tree', 'big.bin'], {
    mode: HgfsOpenMode.READ_ONLY,
    flags: HgfsOpenFlags.OPEN,
  });
  await s.client
    .request({ op: HgfsOp.READ_V3, file: big, offset: 0n, requiredSize: s.client.maxPacketSize - 52 - 12 })
    .catch(() => {});
  await s.client.close(big);
  mark('read:over');
  // The symlink first: the vmw9 agent gives up on a drop at its first refused name outside the
  // staging directory (and revokes its grant), which would then refuse the link itself; `..` and
  // the absolute name are refused the same with or without the grant.
  const escaped: Record<string, boolean> = {};
  escaped.symlink = (
    await writeOutside(s, staging, 'symlink', { target: outside, name: 'via-link.txt' })
  ).escaped;
  mark('outside:symlink');
  escaped.absolute = (
    await writeOutside(s, staging, 'absolute', { dir: guestPath(outside).slice(1) })
  ).escaped;
  mark('outside:absolute');
  escaped.dotdot = (await writeOutside(s, staging, 'dotdot')).escaped;
  mark('outside:dotdot');
  for (const kind of MALFORMED_KINDS) {
    await sendMalformed(s, kind);
    mark(`malformed:${kind}`);
  }
  await s.sendRaw(new Uint8Array(0));
  mark('malformed:empty');
  return { rows, staged, outside, back, escaped };
}

/** The sequence in a session of its own on `host`'s guest server, with `side`/stage as the staging directory. */
async function direct(host: VmxHost, side: string, source: string): Promise<Run> {
  const s = host.guestHgfs.open();
  const stage = join(side, 'stage');
  const run = await sequence(s, guestPath(stage), side, source);
  const from = s.requests.length;
  await s.close();
  for (const r of s.requests.slice(from)) run.rows.push({ step: 'close', op: r.opName, answer: answer(r) });
  return run;
}

/**
 * The sequence inside a drop of `source` the host drags into `host`'s guest: between its
 * SRC_DROP_DONE and GET_FILES_DONE, in the staging directory the guest named (DropOptions.fileStage).
 */
async function inDrop(host: VmxHost, side: string, source: string): Promise<Run & { drop: DropOutcome }> {
  let run: Run | undefined;
  const drop = await host.dnd.drop([source], {
    fileStage: async (s, staging) => {
      run = await sequence(s, staging, side, source);
      return { result: 'done', files: 0, dirs: 0, bytes: 0 };
    },
  });
  if (!run)
    throw new Error(
      `the drop never reached its files: ${drop.result} ${drop.reason ?? ''}; its last requests: ${drop.transfer?.requests
        .slice(-6)
        .map((r) => `${r.opName} ${answer(r)}`)
        .join(', ')}`,
    );
  const close = drop.transfer?.requests.at(-1);
  if (close) run.rows.push({ step: 'close', op: close.opName, answer: answer(close) });
  return { ...run, drop };
}

/**
 * Where vmw9's guest policy deliberately differs from vmtoolsd's (docs/protocol/hgfs.md, "The
 * guest's shares" and "The host as client of the guest's server"): step → [vmtoolsd's answers
 * (one of them), vmw9's answers], request by request.
 */
const DIFFERENCES: Record<string, [string[][], string[]]> = {
  // vmtoolsd's share is the whole of `/`: a path outside the staging directory is written.
  // vmw9 serves only its grants: ACCESS_DENIED, whether the name exists or not.
  'outside:absolute': [
    [['OPEN_V3 SUCCESS', 'WRITE_V3 SUCCESS', 'CLOSE_V3 SUCCESS']],
    ['OPEN_V3 ACCESS_DENIED'],
  ],
  // vmtoolsd follows a symlink anywhere on the way (a share with an empty path skips the check);
  // vmw9 refuses a link that leads out of its grant (absolute, or with `..`); the agent then ends
  // the drop (`failed outside`) and revokes its grant, so the name written next is refused too. Whether vmtoolsd makes the link at all is chance: its `root` share's
  // configOptions are never initialised (hgfsServerPolicyGuest.c HgfsServerPolicy_Init mallocs the
  // share), and when the garbage has HGFS_SHARE_FOLLOW_SYMLINKS set, CREATE_SYMLINK_V3 is ACCESS_DENIED.
  'outside:symlink': [
    [
      ['CREATE_SYMLINK_V3 SUCCESS', 'OPEN_V3 SUCCESS', 'WRITE_V3 SUCCESS', 'CLOSE_V3 SUCCESS'],
      ['CREATE_SYMLINK_V3 ACCESS_DENIED', 'OPEN_V3 NO_SUCH_FILE_OR_DIR'],
    ],
    ['CREATE_SYMLINK_V3 ACCESS_DENIED', 'OPEN_V3 ACCESS_DENIED'],
  ],
  // A packet the server drops: vmtoolsd answers with its whole stale reply buffer, vmw9 with `OK ` alone.
  'malformed:empty': [[['MALFORMED GARBLED']], ['MALFORMED NO_REPLY']],
};

describe.skipIf(skip !== undefined)(
  `the guest's HGFS server: vmw9's against unmodified vmtoolsd's, the same requests${skip ? ` (skipped: ${skip})` : ''}`,
  { timeout: 300_000 },
  () => {
    let dir: string;
    let source: string;
    let servers: SimServer[] = [];
    let peers: Peers;
    let vmtoolsd: ChildProcess;
    let agent: ChildProcess;
    let ovt: Run;
    let ours: Run & { drop: DropOutcome };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vmx-hgfs-diff-'));
      source = join(dir, 'src', 'tree');
      mkdirSync(join(source, 'sub dir', 'a', 'b'), { recursive: true });
      const big = Buffer.alloc(BIG);
      // Deterministic, not compressible, no period a short-by-a-chunk bug could hide in.
      let x = 0x9e3779b9;
      for (let i = 0; i < big.length; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        big.writeUInt32LE(x >>> 0, i);
      }
      writeFileSync(join(source, 'big.bin'), big);
      writeFileSync(join(source, 'empty'), '');
      writeFileSync(join(source, 'name with spaces.txt'), 'spaces in the name\n');
      writeFileSync(join(source, 'ünïcödé ✓ — naïve.txt'), 'non-ASCII name\n');
      writeFileSync(join(source, 'sub dir', '二 三.txt'), '二三\n');
      writeFileSync(join(source, 'sub dir', 'a', 'b', 'deep.txt'), 'deep\n');
      mkdirSync(join(dir, 'ovt', 'stage'), { recursive: true });
      for (const side of ['ovt', 'vmw9']) mkdirSync(join(dir, side, 'outside'), { recursive: true });
      peers = new Peers();

      // open-vm-tools' server: vmtoolsd (vmsvc) answers `f` on `toolbox`.
      const a = new VmxHost();
      servers.push(await serveHost(a, join(dir, 'ovt.sock')));
      vmtoolsd = peers.trapped(servers[0]!.path, ['vmtoolsd']);
      await until(
        `vmtoolsd to serve HGFS (it said: ${peers.tail(vmtoolsd)})`,
        () => a.guestHgfs.servers().includes('toolbox'),
        60_000,
      );
      ovt = await direct(a, join(dir, 'ovt'), source);

      // vmw9's server: the agent (its dnd service on `toolbox-dnd`) over the simulator's socket;
      // the host drags the tree into it and sends the sequence to the staging directory it names.
      const b = new VmxHost();
      servers.push(await serveHost(b, join(dir, 'vmw9.sock')));
      const run = join(dir, 'run');
      mkdirSync(run, { mode: 0o700 });
      agent = peers.spawn(
        process.execPath,
        [
          VMW9_CLI,
          '--host',
          `unix!${servers[1]!.path}`,
          'agent',
          '--level',
          'warn',
          '--listen',
          `unix!${join(run, 'tree.sock')}`,
          '--dnd-dir',
          join(dir, 'vmw9', 'dnd'),
        ],
        { XDG_RUNTIME_DIR: run, VMW9_BACKDOOR: '' },
      );
      await until(
        `the vmw9 agent to negotiate drag and drop and serve HGFS (it said: ${peers.tail(agent)})`,
        () => b.dnd.active && b.guestHgfs.servers().includes('toolbox-dnd'),
        60_000,
      );
      ours = await inDrop(b, join(dir, 'vmw9'), source);
    }, 240_000);

    afterAll(async () => {
      await peers?.stop();
      for (const s of servers) await s.close();
      servers = [];
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the tree written into the staging directory: byte-identical on both sides, every request SUCCESS on both', () => {
      const want = digest(join(dir, 'src'));
      expect(Object.keys(want)).toHaveLength(10);
      const tree = Object.fromEntries(
        Object.entries(want)
          .filter(([k]) => k !== 'tree/')
          .map(([k, v]) => [k.slice('tree/'.length), v]),
      );
      expect(ovt.staged).toEqual(tree);
      expect(ours.staged).toEqual(tree);
      const put = (r: Run) => r.rows.filter((x) => x.step === 'put');
      expect(put(ours)).toEqual(put(ovt));
      expect(new Set(put(ovt).map((r) => r.answer))).toEqual(new Set(['SUCCESS']));
      // The 16 MiB file went in WRITE_V3s of 522163 bytes: the packet both negotiated, 522240.
      expect(put(ovt).filter((r) => r.op === 'WRITE_V3').length).toBe(
        Math.ceil(BIG / 522163) + 4 /* the four small files with data */,
      );
    });

    it('read back with GETATTR, SEARCH_*, OPEN/READ/CLOSE: the same requests and statuses, the same bytes', () => {
      const get = (r: Run) => r.rows.filter((x) => x.step === 'get');
      expect(get(ours)).toEqual(get(ovt));
      expect(get(ovt).length).toBeGreaterThan(40);
      const want = digest(join(dir, 'src'));
      expect(digest(ovt.back)).toEqual(want);
      expect(digest(ours.back)).toEqual(want);
    });

    it('request by request, the statuses are equal except for the documented differences, which are exactly as documented', () => {
      const steps = [...new Set(ovt.rows.map((r) => r.step))];
      expect([...new Set(ours.rows.map((r) => r.step))]).toEqual(steps);
      const table: Array<[string, string[], string[]]> = steps.map((step) => [
        step,
        ovt.rows.filter((r) => r.step === step).map((r) => `${r.op} ${r.answer}`),
        ours.rows.filter((r) => r.step === step).map((r) => `${r.op} ${r.answer}`),
      ]);
      for (const [step, a, b] of table) {
        const documented = DIFFERENCES[step];
        if (documented) {
          const [theirs, mine] = documented;
          expect({ step, vmtoolsd: a, vmw9: b }).toEqual({
            step,
            vmtoolsd: theirs.find((t) => t.join() === a.join()) ?? theirs[0],
            vmw9: mine,
          });
        } else expect({ step, vmw9: b }).toEqual({ step, vmw9: a });
      }
    });

    it('outside the staging directory: `..` refused by both (INVALID_NAME); vmtoolsd wrote the absolute name (and the symlinked one when it made the link), vmw9 neither', () => {
      expect(ovt.rows.find((r) => r.step === 'outside:dotdot')).toMatchObject({
        op: 'OPEN_V3',
        answer: 'INVALID_NAME',
      });
      const linked =
        ovt.rows.find((r) => r.step === 'outside:symlink' && r.op === 'CREATE_SYMLINK_V3')?.answer ===
        'SUCCESS';
      expect(ovt.escaped).toEqual({ dotdot: false, absolute: true, symlink: linked });
      expect(ours.escaped).toEqual({ dotdot: false, absolute: false, symlink: false });
      expect(readdirSync(ovt.outside).sort()).toEqual(
        linked ? ['via-link.txt', 'vmw9-escape.txt'] : ['vmw9-escape.txt'],
      );
      expect(readdirSync(ours.outside)).toEqual([]);
      expect(existsSync(join(dir, 'vmw9', 'vmw9-escape.txt'))).toBe(false);
      expect(existsSync(join(dir, 'ovt', 'vmw9-escape.txt'))).toBe(false);
    });

    it('malformed packets: a cut header and a lying packetSize STALE_SESSION, a name past the packet PROTOCOL_ERROR, on both', () => {
      const m = (r: Run) =>
        r.rows.filter((x) => x.step.startsWith('malformed:') && x.step !== 'malformed:empty');
      expect(m(ovt).map((r) => `${r.step} ${r.answer}`)).toEqual([
        'malformed:short STALE_SESSION',
        'malformed:size STALE_SESSION',
        'malformed:name PROTOCOL_ERROR',
      ]);
      expect(m(ours)).toEqual(m(ovt));
    });

    it('a READ_V3 one byte over packet − 52 − 13: INVALID_NAME on both', () => {
      const r = (x: Run) => x.rows.filter((y) => y.step === 'read:over').map((y) => `${y.op} ${y.answer}`);
      expect(r(ovt)).toEqual(['OPEN_V3 SUCCESS', 'READ_V3 INVALID_NAME', 'CLOSE_V3 SUCCESS']);
      expect(r(ours)).toEqual(r(ovt));
    });
  },
);
