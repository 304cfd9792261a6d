/**
 * The dnd service against vmx-sim's drag-and-drop controller (in process, and over the
 * simulator's socket): the capabilities and the negotiation on `toolbox-dnd`, a folder dropped by
 * the host arriving whole in the staging directory and announced on dnd/events, an offer the host
 * takes, and a host that misbehaves (a path outside the staging directory, more bytes than it
 * announced, a stop midway, malformed packets): a `failed` line, nothing of it kept or announced,
 * and the agent answering on. docs/protocol/tree.md §18.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { CpFormat, type DndSetTimer, textItem } from '@vmw9/dndcp';
import { parseDndEventLine } from '@vmw9/fs';
import type { TraceRecord } from '@vmw9/rpc';
import { type DropFault, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient, RemoteError } from 'ninep';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dndService } from '../src/index.js';
import { cleanup, handshake, startOnSim, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const DND = 'toolbox-dnd';
/** The idle timeout the tests configure: the armed timer of that length is the idle one. */
const IDLE_MS = 7000;

/** Timers the test fires by hand (the engine's: nothing fires unless the test says so). */
function manualTimers() {
  const armed: Array<{ fire: () => void; ms: number; live: boolean }> = [];
  const setTimer: DndSetTimer = (fire, ms) => {
    const t = { fire, ms, live: true };
    armed.push(t);
    return () => {
      t.live = false;
    };
  };
  return {
    setTimer,
    /** Fires the live timer of `ms`; false when there is none. */
    fire(ms: number): boolean {
      const t = armed.filter((x) => x.live && x.ms === ms).at(-1);
      if (!t) return false;
      t.live = false;
      t.fire();
      return true;
    },
  };
}

const opened: NinepClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

/** An agent with drag and drop negotiated with the simulated host; its tree over 9P2000.u. */
async function dnd(opts: { config?: string; host?: VmxHost } = {}) {
  const timers = manualTimers();
  const traces: TraceRecord[] = [];
  const dir = tempDir();
  const s = await startOnSim({
    dir,
    ...(opts.host ? { host: opts.host } : {}),
    config: `[powerops]\nsystem-actions = false\n[dnd]\nidle-timeout = ${IDLE_MS}ms\n${opts.config ?? ''}`,
    agent: { dndSetTimer: timers.setTimer, trace: (r) => traces.push(r) },
  });
  await waitFor('drag and drop negotiated', () => s.host.dnd.active);
  const c = await NinepClient.connect(`unix!${s.fsPath}`, { version: '9P2000.u' });
  opened.push(c);
  return { ...s, c, timers, traces, stagingRoot: join(dir, 'dnd') };
}

const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();

/** A reader of an event file opened now; `next()` is its next record. */
async function reader(c: NinepClient, path: string) {
  const fid = await c.walk(path);
  await c.open(fid, 'r');
  return {
    next: async () => Buffer.from(await c.read(fid, 0, 8192)).toString(),
    close: () => c.clunk(fid).catch(() => undefined),
  };
}

/** The folder of the smoke check: a 2 MB random file, a name with a space, an empty file, a subfolder. */
function folder(base: string): string {
  const f = join(base, 'src', 'folder');
  mkdirSync(join(f, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(f, 'big.bin'), randomBytes(2_000_000));
  writeFileSync(join(f, 'sub', 'note with space.txt'), 'hello drop\n');
  writeFileSync(join(f, 'empty'), '');
  writeFileSync(join(f, 'sub', 'deeper', 'ünïcødé.txt'), 'non-ASCII name\n');
  return f;
}

/** Relative path → sha256 of every regular file under `dir`, and its directories. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out[`${relative(dir, p)}/`] = 'dir';
        walk(p);
      } else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** What is left in the staging root (names). */
const leftIn = (root: string) => (existsSync(root) ? readdirSync(root) : []);

/** The agent still answers: the tree, and a TCLO command on its drag-and-drop channel. */
async function stillAnswers(s: Awaited<ReturnType<typeof dnd>>) {
  expect(await text(s.c, 'dnd/status')).toBe('idle\n');
  s.host.tclo.queueCommand('Set_Option enableDnD 1', DND);
  expect((await s.host.tclo.waitForReply('Set_Option enableDnD 1')).reply).toBe('OK ');
  await waitFor('negotiated again', () => s.host.dnd.active);
}

describe('the dnd service on toolbox-dnd', () => {
  it('registers dnd_version 4 and hgfs_server toolbox-dnd 1 (with its NUL), and negotiates on enableDnD 1', async () => {
    const s = await dnd();
    expect(s.host.rpci.capabilities.get('dnd_version')).toBe('4');
    expect(s.host.guestHgfs.servers()).toContain(DND);
    const cap = (v: string) =>
      s.traces.filter(
        (t) => t.direction === 'out' && t.head.startsWith(`tools.capability.hgfs_server ${DND} ${v}`),
      );
    // The hgfsServer plugin's form: strlen + 1 bytes; dnd_version without (vmusr's OnCapReg).
    expect(cap('1').map((t) => t.head)).toEqual([`tools.capability.hgfs_server ${DND} 1\\x00`]);
    expect(
      s.traces
        .filter((t) => t.direction === 'out' && t.head.startsWith('tools.capability.dnd_version'))
        .map((t) => t.head),
    ).toEqual(['tools.capability.dnd_version 4']);
    expect(s.host.dnd.negotiated).toMatchObject({ version: 4, guestCaps: 0x0aab });
    expect(await text(s.c, 'dnd/ctl')).toBe(`dnd on\nstate ready\nstaging ${s.stagingRoot}\n`);
    expect(statSync(s.stagingRoot).mode & 0o777).toBe(0o700);
    expect(await text(s.c, 'status')).toMatch(/^service dnd toolbox-dnd$/m);
    // At stop, as the hgfsServer plugin unloads: the capability set to 0.
    await s.agent.stop();
    expect(cap('0').map((t) => t.head)).toEqual([`tools.capability.hgfs_server ${DND} 0\\x00`]);
  });

  it('Set_Option enableDnD: 0 and 2 turn it off, 1 on again; other values are refused', async () => {
    const s = await dnd();
    const opt = async (v: string) => {
      s.host.tclo.queueCommand(`Set_Option enableDnD ${v}`, DND);
      return (await s.host.tclo.waitForReply(`Set_Option enableDnD ${v}`)).reply;
    };
    expect(await opt('7')).toBe('ERROR Unknown or invalid option');
    expect(await opt('0')).toBe('OK ');
    expect(s.agent.service(dndService).guest!.active).toBe(false);
    expect(await text(s.c, 'dnd/ctl')).toMatch(/^state not-negotiated$/m);
    expect(await opt('1')).toBe('OK ');
    expect(s.agent.service(dndService).guest!.active).toBe(true);
  });

  it('[dnd] enabled = false: no capability, no dnd/, and enableDnD answered as vmusr does', async () => {
    const s = await startOnSim({ config: '[powerops]\nsystem-actions = false\n[dnd]\nenabled = false\n' });
    await handshake(s.host);
    expect(s.host.rpci.capabilities.has('dnd_version')).toBe(false);
    expect(s.host.guestHgfs.servers()).toEqual([]);
    expect(s.agent.options.get('enableDnD')).toBe('1');
    const c = await s.client();
    expect((await c.readdir('/')).map((e) => e.name)).not.toContain('dnd');
  });

  it('at start, removes partial drops of agents gone and whole ones older than [dnd] keep', async () => {
    const dir = tempDir();
    const root = join(dir, 'dnd');
    const made = (name: string, ageMs: number) => {
      mkdirSync(join(root, name), { recursive: true, mode: 0o700 });
      writeFileSync(join(root, name, 'f'), 'x');
      const t = (Date.now() - ageMs) / 1000;
      utimesSync(join(root, name), t, t);
    };
    // A pid above Linux's pid_max (4194304) is no running agent.
    made('.partial.99999999.aaaaaa', 0);
    made('drop.bbbbbb', 2 * 3_600_000);
    made('drop.cccccc', 0);
    made('mine', 2 * 3_600_000);
    chmodSync(root, 0o700);
    const s = await startOnSim({ dir, config: '[powerops]\nsystem-actions = false\n[dnd]\nkeep = 1h\n' });
    await waitFor('the old drops removed', () => leftIn(root).length === 2);
    expect(leftIn(root).sort()).toEqual(['drop.cccccc', 'mine']);
    expect(s.agent.service(dndService).staging!.nextCleanup).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it('a staging root another user could use turns drag and drop off, said in the log; the agent runs', async () => {
    const base = tempDir();
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const s = await startOnSim({
      config: `[powerops]\nsystem-actions = false\n[dnd]\ndir = ${join(open, 'dnd')}\n`,
    });
    await handshake(s.host);
    const line = s.logs.map((l) => JSON.parse(l)).find((l) => /^drag and drop is off/.test(l.msg));
    expect(line?.msg).toMatch(/may be written by others and is not sticky/);
    expect(s.host.rpci.capabilities.has('dnd_version')).toBe(false);
    expect(s.agent.options.get('enableDnD')).toBe('1');
    expect(existsSync(join(open, 'dnd'))).toBe(false);
    const c = await s.client();
    expect(await text(c, 'version')).toMatch(/^agent /);
  });
});

describe('a drop from the host', () => {
  it('arrives whole in drop.*, announced on dnd/events and events, byte for byte', async () => {
    const s = await dnd();
    const src = folder(tempDir());
    const ev = await reader(s.c, 'dnd/events');
    const main = await reader(s.c, 'events');
    const out = await s.host.dnd.drop([src]);
    expect(out.result).toBe('done');
    expect(await ev.next()).toBe(`begin 1 1 ${2_000_000 + 11 + 15}\n`);
    const drop = parseDndEventLine(await ev.next());
    expect(drop).toMatchObject({ type: 'drop', id: 1, files: 4, bytes: 2_000_000 + 11 + 15 });
    const path = (drop as { path: string }).path;
    expect(path).toMatch(new RegExp(`^${s.stagingRoot}/drop\\.[A-Za-z0-9]{6}$`));
    expect(tree(join(path, 'folder'))).toEqual(tree(src));
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(leftIn(s.stagingRoot)).toEqual([path.slice(s.stagingRoot.length + 1)]);
    expect(await main.next()).toMatch(/^dnd begin 1 /);
    expect(await main.next()).toBe(`dnd drop 1 4 ${2_000_000 + 26} ${path}\n`);
    expect(await text(s.c, 'dnd/status')).toBe('idle\n');
    // The grant is gone: nothing of the guest is served, and the host can no longer reach the folder.
    expect(s.agent.service(dndService).server!.shares.grants()).toEqual([]);
    const after = await s.host.ftPut([src], path.split('/').filter(Boolean)).catch((e: Error) => e);
    expect(after instanceof Error ? after.message : after.result).not.toBe('done');
    await ev.close();
    await main.close();
  });

  it('dnd/status shows the bytes done of the announced total while the host writes', async () => {
    const s = await dnd();
    // The host stops halfway (and says nothing more): the drop stays in progress for the test to look.
    const out = await s.host.dnd.drop([folder(tempDir())], {
      fault: { kind: 'stop', afterBytes: 1_000_000 },
    });
    expect(out.result).toBe('stopped');
    const m = /^receiving 1 files (\d+)\/\? bytes (\d+)\/2000026\n$/.exec(await text(s.c, 'dnd/status'));
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(out.transfer!.bytes);
    expect(Number(m![2])).toBeGreaterThanOrEqual(1_000_000);
    expect(await text(s.c, 'dnd/ctl')).toMatch(/^state receiving$/m);
    expect(s.timers.fire(IDLE_MS)).toBe(true);
    expect(await text(s.c, 'dnd/status')).toBe('idle\n');
  });

  it('a staging root reached through a symlink: the host is given the real path, and the drop arrives', async () => {
    const base = tempDir();
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    const s = await dnd({ config: `dir = ${join(base, 'link', 'dnd')}\n` });
    expect(await text(s.c, 'dnd/ctl')).toMatch(new RegExp(`^staging ${join(base, 'real', 'dnd')}$`, 'm'));
    const src = folder(tempDir());
    const ev = await reader(s.c, 'dnd/events');
    const out = await s.host.dnd.drop([src]);
    expect(out.result).toBe('done');
    expect(out.staging?.guestPath).toMatch(new RegExp(`^${join(base, 'real', 'dnd')}/`));
    await ev.next();
    const drop = parseDndEventLine(await ev.next()) as { path: string };
    expect(tree(join(drop.path, 'folder'))).toEqual(tree(src));
    await ev.close();
  });

  it('a drag of text becomes dropped.txt in a drop of its own', async () => {
    const s = await dnd();
    const ev = await reader(s.c, 'dnd/events');
    const out = await s.host.dnd.drop({
      items: new Map([[CpFormat.TEXT, textItem('dragged text ✓')]]),
      changed: true,
    });
    expect(out.result).toBe('done');
    expect(await ev.next()).toBe('begin 1 0 0\n');
    const drop = parseDndEventLine(await ev.next()) as { path: string; files: number };
    expect(drop.files).toBe(1);
    expect(readFileSync(join(drop.path, 'dropped.txt'), 'utf8')).toBe('dragged text ✓');
    await ev.close();
  });

  it('the host cancelling after the drag began: failed host-cancel, nothing staged', async () => {
    const s = await dnd();
    const ev = await reader(s.c, 'dnd/events');
    const out = await s.host.dnd.drop([folder(tempDir())], { cancelAfterBegin: true });
    expect(out.result).toBe('cancelled');
    expect(await ev.next()).toMatch(/^begin 1 /);
    expect(await ev.next()).toMatch(/^failed 1 host-cancel /);
    await s.agent.service(dndService).guest!.settled();
    expect(leftIn(s.stagingRoot)).toEqual([]);
    await ev.close();
  });
});

describe('a host that misbehaves during a drop', () => {
  /** Drops the folder with `fault`; the failed line, after the agent has removed the directory. */
  async function faulty(s: Awaited<ReturnType<typeof dnd>>, fault: DropFault, after?: () => void) {
    const ev = await reader(s.c, 'dnd/events');
    const out = await s.host.dnd.drop([folder(tempDir())], { fault });
    after?.();
    expect(await ev.next()).toMatch(/^begin 1 /);
    const line = await ev.next();
    await ev.close();
    await s.agent.service(dndService).guest!.settled();
    // Nothing of it is kept, nothing announced as a drop, nothing of the guest served.
    expect(leftIn(s.stagingRoot)).toEqual([]);
    expect(s.agent.service(dndService).server!.shares.grants()).toEqual([]);
    expect(line).not.toMatch(/^drop /);
    return { out, line };
  }

  for (const how of ['dotdot', 'absolute', 'symlink'] as const) {
    it(`names a path outside the staging directory (${how}): failed outside, nothing written there`, async () => {
      const s = await dnd();
      const elsewhere = tempDir();
      const { out, line } = await faulty(s, {
        kind: 'outside',
        how,
        name: 'escaped.txt',
        dir: elsewhere.split('/').filter(Boolean),
        target: elsewhere,
      });
      expect(line).toMatch(/^failed 1 outside the host named .* outside the staging directory/);
      expect(out.outside?.escaped).toBe(false);
      expect(readdirSync(elsewhere)).toEqual([]);
      await stillAnswers(s);
    });
  }

  it('writes more than its file list announced: the write is refused, failed over-size', async () => {
    const s = await dnd();
    const { out, line } = await faulty(s, { kind: 'oversize', extraBytes: 10 });
    expect(line).toMatch(/^failed 1 over-size /);
    // The write past the announced size was refused NO_SPACE; later ones find the drop gone.
    expect(out.transfer!.requests.find((r) => r.statusName !== 'SUCCESS')?.statusName).toBe('NO_SPACE');
    await stillAnswers(s);
  });

  it('stops midway: failed timeout when the idle timer runs out', async () => {
    const s = await dnd();
    const { out, line } = await faulty(s, { kind: 'stop', afterBytes: 300_000 }, () => {
      expect(s.timers.fire(IDLE_MS)).toBe(true);
    });
    expect(out.result).toBe('stopped');
    expect(line).toMatch(/^failed 1 timeout no HGFS activity/);
    await stillAnswers(s);
  });

  it('sends an HGFS request that does not decode: failed protocol', async () => {
    const s = await dnd();
    const { line } = await faulty(s, { kind: 'malformed-hgfs', packet: 'size' });
    expect(line).toMatch(/^failed 1 protocol /);
    await stillAnswers(s);
  });

  it('sends a malformed drag-and-drop packet in place of GET_FILES_DONE: failed protocol', async () => {
    const s = await dnd();
    const { line } = await faulty(s, { kind: 'malformed-dnd' });
    expect(line).toMatch(/^failed 1 protocol a bad packet from the host/);
    await stillAnswers(s);
  });

  it('after a failed drop the next one arrives whole', async () => {
    const s = await dnd();
    await faulty(s, { kind: 'oversize', extraBytes: 1 });
    const src = folder(tempDir());
    const ev = await reader(s.c, 'dnd/events');
    expect((await s.host.dnd.drop([src])).result).toBe('done');
    await ev.next();
    const drop = parseDndEventLine(await ev.next()) as { id: number; path: string };
    expect(drop.id).toBe(2);
    expect(tree(join(drop.path, 'folder'))).toEqual(tree(src));
    await ev.close();
  });
});

describe('an offer the host takes', () => {
  it('dnd/offer, then the host takes the same bytes back; taken on dnd/events', async () => {
    const s = await dnd();
    const src = folder(tempDir());
    const single = join(tempDir(), 'single.txt');
    writeFileSync(single, 'one file\n');
    const ev = await reader(s.c, 'dnd/events');
    await s.c.writeFile('dnd/offer', Buffer.from(`${src}\n${single}\n`));
    expect(await ev.next()).toBe(`offer 1 5 ${2_000_026 + 9}\n`);
    expect(await text(s.c, 'dnd/offer')).toBe(`offer 1 5 ${2_000_035}\n${src}\n${single}\n`);
    expect(await text(s.c, 'dnd/status')).toBe(`offering 1 files 5 bytes ${2_000_035}\n`);
    const into = tempDir();
    const out = await s.host.dnd.take(into);
    expect(out.reason).toBeUndefined();
    expect(out.result).toBe('taken');
    expect(out.offered?.paths).toEqual([src, single]);
    expect(await ev.next()).toBe('taken 1\n');
    expect(tree(join(into, 'folder'))).toEqual(tree(src));
    expect(readFileSync(join(into, 'single.txt'), 'utf8')).toBe('one file\n');
    expect(await text(s.c, 'dnd/offer')).toBe('');
    expect(await text(s.c, 'dnd/status')).toBe('idle\n');
    // Taken, and used up; but a host that reads after its DEST_DROP still can, while it keeps
    // reading: each request puts off the end by the idle timeout.
    const late = await s.host.ftGet([single], tempDir());
    expect(late.result).toBe('done');
    expect(s.agent.service(dndService).server!.shares.grants()).toHaveLength(2);
    // Then a quiet idle timeout: the paths are no longer served.
    expect(s.timers.fire(IDLE_MS)).toBe(true);
    expect(s.agent.service(dndService).server!.shares.grants()).toEqual([]);
    const again = await s.host.ftGet([src], tempDir()).catch((e: Error) => e);
    expect(again instanceof Error ? again.message : again.result).not.toBe('done');
    await ev.close();
  });

  it('a path that cannot be granted (gone since it was measured) fails the offer and revokes the others', async () => {
    const s = await dnd();
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'a');
    const g = join(tempDir(), 'b.txt');
    writeFileSync(g, 'b');
    const shares = s.agent.service(dndService).server!.shares;
    const real = shares.grantRead.bind(shares);
    let n = 0;
    const spy = vi.spyOn(shares, 'grantRead').mockImplementation((p) => {
      if (++n === 2) throw new Error(`${p}: ENOENT`);
      return real(p);
    });
    try {
      const err = await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n${g}\n`)).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      spy.mockRestore();
    }
    expect(shares.grants()).toEqual([]);
    expect(await text(s.c, 'dnd/offer')).toBe('');
  });

  it('a taken offer still served is given up for a new offer, a withdraw, or drag and drop off', async () => {
    const s = await dnd();
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'a');
    const g = join(tempDir(), 'b.txt');
    writeFileSync(g, 'b');
    const grants = () =>
      s.agent
        .service(dndService)
        .server!.shares.grants()
        .map((x) => x.path);
    for (const end of ['offer', 'withdraw', 'off'] as const) {
      await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n`));
      expect((await s.host.dnd.take(tempDir())).result).toBe('taken');
      expect(grants()).toEqual([f]);
      if (end === 'offer') {
        await s.c.writeFile('dnd/offer', Buffer.from(`${g}\n`));
        expect(grants()).toEqual([g]);
        await s.c.writeFile('dnd/ctl', Buffer.from('withdraw\n'));
      } else if (end === 'withdraw') await s.c.writeFile('dnd/ctl', Buffer.from('withdraw\n'));
      else {
        await s.c.writeFile('dnd/ctl', Buffer.from('off\n'));
        await s.c.writeFile('dnd/ctl', Buffer.from('on\n'));
      }
      expect(grants()).toEqual([]);
    }
  });

  it('a path offered through a symlink is offered as the real path, and the host reads it', async () => {
    const s = await dnd();
    const base = tempDir();
    mkdirSync(join(base, 'real'));
    writeFileSync(join(base, 'real', 'f.txt'), 'through a link\n');
    symlinkSync(join(base, 'real'), join(base, 'link'));
    await s.c.writeFile('dnd/offer', Buffer.from(`${join(base, 'link')}\n`));
    expect(await text(s.c, 'dnd/offer')).toBe(`offer 1 1 15\n${join(base, 'real')}\n`);
    const into = tempDir();
    const out = await s.host.dnd.take(into);
    expect(out.result).toBe('taken');
    expect(readFileSync(join(into, 'real', 'f.txt'), 'utf8')).toBe('through a link\n');
  });

  it('nothing offered: the host hears DRAG_NOT_PENDING; withdraw and a new offer replace', async () => {
    const s = await dnd();
    expect((await s.host.dnd.take(tempDir())).result).toBe('nothing-offered');
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'a');
    const ev = await reader(s.c, 'dnd/events');
    await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n`));
    await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n`));
    await s.c.writeFile('dnd/ctl', Buffer.from('withdraw\n'));
    expect([await ev.next(), await ev.next(), await ev.next(), await ev.next()]).toEqual([
      'offer 1 1 1\n',
      'withdrawn 1\n',
      'offer 2 1 1\n',
      'withdrawn 2\n',
    ]);
    expect((await s.host.dnd.take(tempDir())).result).toBe('nothing-offered');
    await ev.close();
  });

  it('the host cancelling its drag: cancelled, the offer used up', async () => {
    const s = await dnd();
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'a');
    const ev = await reader(s.c, 'dnd/events');
    await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n`));
    expect((await s.host.dnd.take(tempDir(), { cancel: true })).result).toBe('cancelled');
    expect(await ev.next()).toBe('offer 1 1 1\n');
    expect(await ev.next()).toMatch(/^cancelled 1 host-cancel /);
    expect(await text(s.c, 'dnd/offer')).toBe('');
    await ev.close();
  });

  it("a missing path is the write's error; with dnd off the offer is the close's error", async () => {
    const s = await dnd();
    const err = await s.c.writeFile('dnd/offer', Buffer.from('/no/such/file\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).ename).toMatch(/^dnd\/offer: \/no\/such\/file: .*ENOENT/);
    await s.c.writeFile('dnd/ctl', Buffer.from('off\n'));
    expect(await text(s.c, 'dnd/ctl')).toMatch(/^dnd off\nstate off$/m);
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'a');
    const off = await s.c.writeFile('dnd/offer', Buffer.from(`${f}\n`)).catch((e: unknown) => e);
    expect((off as RemoteError).ename).toBe('host: drag and drop is off (write on to dnd/ctl)');
    await s.c.writeFile('dnd/ctl', Buffer.from('on\n'));
    await waitFor('negotiated again', () => s.agent.service(dndService).guest!.active);
    expect(await text(s.c, 'dnd/ctl')).toMatch(/^dnd on\nstate ready$/m);
  });
});

describe('over unix!PATH', () => {
  it('a drop and a take through the simulator served on a socket', async () => {
    const dir = tempDir();
    const host = new VmxHost();
    const server = await serveHost(host, join(dir, 'h.sock'));
    try {
      const s = await startOnSim({
        dir,
        host,
        agent: { host: `unix!${join(dir, 'h.sock')}` as never, simHost: undefined as never },
      });
      await waitFor('drag and drop negotiated', () => host.dnd.active);
      const c = await s.client();
      const src = folder(tempDir());
      const fid = await c.walk('/dnd/events');
      await c.open(fid, 'r');
      expect((await host.dnd.drop([src])).result).toBe('done');
      expect(Buffer.from(await c.read(fid, 0, 8192)).toString()).toMatch(/^begin 1 /);
      const drop = parseDndEventLine(Buffer.from(await c.read(fid, 0, 8192)).toString()) as { path: string };
      expect(tree(join(drop.path, 'folder'))).toEqual(tree(src));
      await c.writeFile('/dnd/offer', Buffer.from(`${join(drop.path, 'folder')}\n`));
      const into = tempDir();
      expect((await host.dnd.take(into)).result).toBe('taken');
      expect(tree(join(into, 'folder'))).toEqual(tree(src));
      await c.clunk(fid);
    } finally {
      await cleanup();
      await server.close();
    }
  });
});
