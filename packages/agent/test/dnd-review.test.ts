/**
 * Review of issue 16: a host that reads back what it wrote into a drop's staging directory (as
 * the differential against vmtoolsd does) is making progress reads, not writes: they must not
 * count toward the bytes its file list announced, nor as files written (docs/protocol/tree.md §18,
 * dnd/status: "files the host has closed after writing, bytes written of the announced total").
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpFormat, cpNameOfPath, type DndSetTimer, encodeFileList } from '@vmw9/dndcp';
import { NinepClient, NONUNAME } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { dndService, parseConfig } from '../src/index.js';
import { cleanup, startOnSim, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const opened: NinepClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

/** Engine timers that never fire unless a test fires them. */
const noTimers: DndSetTimer = () => () => undefined;

async function dnd() {
  const dir = tempDir();
  const s = await startOnSim({
    dir,
    config: '[powerops]\nsystem-actions = false\n[dnd]\nidle-timeout = 7000ms\n',
    agent: { dndSetTimer: noTimers },
  });
  await waitFor('drag and drop negotiated', () => s.host.dnd.active);
  const c = await NinepClient.connect(`unix!${s.fsPath}`, { version: '9P2000.u' });
  opened.push(c);
  return { ...s, c };
}

const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();

function folder(base: string): string {
  const f = join(base, 'src', 'folder');
  mkdirSync(join(f, 'sub'), { recursive: true });
  writeFileSync(join(f, 'big.bin'), randomBytes(2_000_000));
  writeFileSync(join(f, 'sub', 'small.txt'), 'hello drop\n');
  return f;
}

describe('a host reading back a drop in progress', () => {
  it('its reads are neither written bytes nor written files: the drop goes on', async () => {
    const s = await dnd();
    const out = await s.host.dnd.drop([folder(tempDir())], {
      fault: { kind: 'stop', afterBytes: 1_500_000 },
    });
    expect(out.result).toBe('stopped');
    const before = await text(s.c, 'dnd/status');
    expect(before).toMatch(/^receiving 1 files \d+\/\? bytes \d+\/2000011\n$/);
    // The host reads everything it wrote so far back, in a session of its own.
    const back = await s.host.ftGet([out.staging!.guestPath], tempDir());
    expect(back.result).toBe('done');
    expect(back.bytes).toBeGreaterThanOrEqual(1_000_000);
    expect(await text(s.c, 'dnd/status')).toBe(before);
  });
});

describe('who may offer what', () => {
  /** Another local user, attached as such (what the kernel mount's shared attach looks like too). */
  const otherUid = (process.geteuid?.() ?? 0) + 4242;
  async function asOther(fsPath: string, nUname = otherUid) {
    const other = await NinepClient.connect(`unix!${fsPath}`, {
      version: '9P2000.u',
      uname: 'nobody',
      nUname,
    });
    opened.push(other);
    return other;
  }
  /** A directory every user may search (tempDir makes them 0700). */
  function openDir(): string {
    const d = tempDir();
    chmodSync(d, 0o755);
    return d;
  }
  const offerAs = (c: NinepClient, path: string) =>
    c.writeFile('dnd/offer', Buffer.from(`${path}\n`)).then(
      () => undefined,
      (e: Error) => e,
    );

  it('a 9P user offers only files that user may read (the agent may read more than its clients)', async () => {
    const s = await dnd();
    const secret = join(openDir(), 'secret');
    writeFileSync(secret, 'only the agent user may read this\n');
    chmodSync(secret, 0o600);
    const err = await offerAs(await asOther(s.fsPath), secret);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/EACCES|permission|not readable/i);
    expect(err!.message).toContain(secret);
    expect(await text(s.c, 'dnd/offer')).toBe('');
    // A user whose uid the attach did not say: only the other bits count, and they say no.
    expect(await offerAs(await asOther(s.fsPath, NONUNAME), secret)).toBeInstanceOf(Error);
    expect(await text(s.c, 'dnd/offer')).toBe('');
    // The agent's own user may offer it (its access is the check).
    expect(await offerAs(s.c, secret)).toBeUndefined();
    expect(await text(s.c, 'dnd/offer')).toMatch(/^offer \d+ 1 34\n/);
  });

  it('a file every user may read, on a way every user may search, the other user offers', async () => {
    const s = await dnd();
    const dir = join(openDir(), 'shared');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'a.txt'), 'for all\n');
    chmodSync(join(dir, 'a.txt'), 0o644);
    expect(await offerAs(await asOther(s.fsPath), dir)).toBeUndefined();
    const [head, path] = (await text(s.c, 'dnd/offer')).split('\n');
    expect(head).toMatch(/^offer \d+ 1 8$/);
    expect(path).toBe(dir);
    // One file below it the other user may not read: the whole directory is refused, naming it.
    writeFileSync(join(dir, 'mine'), 'private\n');
    chmodSync(join(dir, 'mine'), 0o600);
    const err = await offerAs(await asOther(s.fsPath), dir);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(join(dir, 'mine'));
  });

  it.runIf(process.geteuid?.() === 0)(
    'a file owned by the writer, readable by its owner alone, is offered',
    async () => {
      const s = await dnd();
      const mine = join(openDir(), 'mine');
      writeFileSync(mine, 'the writer owns this\n');
      chmodSync(mine, 0o600);
      chownSync(mine, otherUid, 0);
      expect(await offerAs(await asOther(s.fsPath), mine)).toBeUndefined();
      expect(await text(s.c, 'dnd/offer')).toMatch(/^offer \d+ 1 21\n/);
    },
  );

  it('a directory on the way the writer may not search refuses the file below it', async () => {
    const s = await dnd();
    const base = openDir();
    const closed = join(base, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const inside = join(closed, 'open.txt');
    writeFileSync(inside, 'readable, behind a closed door\n');
    chmodSync(inside, 0o644);
    const err = await offerAs(await asOther(s.fsPath), inside);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(closed);
    expect(await text(s.c, 'dnd/offer')).toBe('');
  });
});

describe('a file list announcing more bytes than a grant can count', () => {
  it('a total past 2^53 bytes still stages a drop the host can write into, or fails it at once', async () => {
    const s = await dnd();
    const svc = s.agent.service(dndService);
    const fileList = encodeFileList({
      totalSize: 1n << 60n,
      relNames: ['huge.bin'],
      fullPaths: [cpNameOfPath('/host/huge.bin')],
    });
    // A clipboard drop: the simulator then leaves the drag after SRC_DROP, as it is the guest's to go on.
    await s.host.dnd.drop({ items: new Map([[CpFormat.FILELIST, fileList]]), changed: true });
    await waitFor(
      'the drop staged or failed',
      () => svc.guest!.state === 'receiving' || svc.guest!.state === 'ready',
    );
    if (svc.guest!.state === 'receiving') expect(svc.server!.shares.grants()).toHaveLength(1);
    else expect(svc.guest!.state).toBe('ready');
  });
});

describe('the [dnd] settings', () => {
  it('idle-timeout = 0 is a configuration error naming the line, not a RangeError from inside the agent', () => {
    expect(() => parseConfig('[dnd]\nidle-timeout = 0s\n', 'agent.conf')).toThrow(ConfigError);
    expect(() => parseConfig('[dnd]\nidle-timeout = 0s\n', 'agent.conf')).toThrow(
      /agent\.conf.*2.*idle-timeout.*above 0/,
    );
  });
});
