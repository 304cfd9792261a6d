/**
 * Review of issue 16: a host that reads back what it wrote into a drop's staging directory (as
 * the differential against vmtoolsd does) is making progress reads, not writes: they must not
 * count toward the bytes its file list announced, nor as files written (docs/protocol/tree.md §18,
 * dnd/status: "files the host has closed after writing, bytes written of the announced total").
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpFormat, cpNameOfPath, type DndSetTimer, encodeFileList } from '@vmw9/dndcp';
import { NinepClient } from 'ninep';
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
  // Open (not fixed in review): it.fails until the offer is checked against the 9P user.
  it.fails('a 9P user offers only files that user may read (the agent may read more than its clients)', async () => {
    const s = await dnd();
    const secret = join(tempDir(), 'secret');
    writeFileSync(secret, 'only the agent user may read this\n');
    chmodSync(secret, 0o600);
    // Another local user, attached as such (what the kernel mount's shared attach looks like too).
    const other = await NinepClient.connect(`unix!${s.fsPath}`, {
      version: '9P2000.u',
      uname: 'nobody',
      nUname: (process.getuid?.() ?? 0) + 4242,
    });
    opened.push(other);
    const err = await other.writeFile('dnd/offer', Buffer.from(`${secret}\n`)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
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
