/**
 * Review of issue 16: a host that writes a drop may also set the modes of what it made (SETATTR_V3,
 * CREATE_DIR_V3's permissions): a directory inside a drop left without its owner's write or search
 * bit cannot be emptied by an agent that is not root, so a failed drop would stay on disk and an
 * expired one never go (docs/protocol/tree.md §18: "A failed drop's directory is removed").
 * As root the removal succeeds whatever the modes, so the removal runs as another user then
 * (the built module: test runs build first), else in this process.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StagingArea } from '../src/staging.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) {
    spawnSync('chmod', ['-R', 'u+rwx', d]);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A staging root with one partial drop whose host left a subdirectory at mode 0 and one at 0500. */
function hostileDrop(): { root: string; drop: string } {
  const base = mkdtempSync(join(tmpdir(), 'staging-review-'));
  made.push(base);
  const root = join(base, 'dnd');
  const drop = join(root, '.partial.1.abcDEF');
  mkdirSync(join(drop, 'closed'), { recursive: true, mode: 0o700 });
  mkdirSync(join(drop, 'readonly', 'deeper'), { recursive: true, mode: 0o700 });
  writeFileSync(join(drop, 'closed', 'a.bin'), 'data');
  writeFileSync(join(drop, 'readonly', 'deeper', 'b.bin'), 'data');
  if (asRoot) spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, base]);
  chmodSync(join(drop, 'closed'), 0o000);
  chmodSync(join(drop, 'readonly'), 0o500);
  if (asRoot) chownSync(base, NOBODY, NOBODY);
  return { root, drop };
}

/** StagingArea.discard(drop) run as a user who is not root; the error's message or ''. */
async function discardAsUser(root: string, drop: string): Promise<string> {
  if (!asRoot) {
    try {
      await new StagingArea({ root, keepMs: 0, pid: 2 }).discard(drop);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  }
  // The other user may not be able to reach the checkout (a CI clone in a 0700 temporary directory):
  // the module (which imports only Node's) is copied where it can.
  const copy = mkdtempSync(join(tmpdir(), 'staging-review-mod-'));
  made.push(copy);
  chmodSync(copy, 0o755);
  copyFileSync(resolve(__dirname, '../dist/staging.js'), join(copy, 'staging.mjs'));
  chmodSync(join(copy, 'staging.mjs'), 0o644);
  const mod = pathToFileURL(join(copy, 'staging.mjs')).href;
  const script = `const { StagingArea } = await import(${JSON.stringify(mod)});
try { await new StagingArea({ root: ${JSON.stringify(root)}, keepMs: 0, pid: 2 }).discard(${JSON.stringify(drop)}); }
catch (e) { process.stdout.write(e.message); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child: ${r.stderr}`);
  return r.stdout;
}

describe('removing a drop whose host closed its directories', () => {
  it('discard removes it all, whatever modes the host left inside', async () => {
    const { root, drop } = hostileDrop();
    const err = await discardAsUser(root, drop);
    expect(err).toBe('');
    expect(existsSync(drop)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('a staging root removed while the agent runs', () => {
  it('the next drop makes it again (a cache cleaner emptied ~/.cache)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'staging-review-'));
    made.push(base);
    const root = join(base, 'dnd');
    mkdirSync(root, { mode: 0o700 });
    const area = new StagingArea({ root, keepMs: 0, pid: 3 });
    rmSync(root, { recursive: true });
    const dir = await area.create(1);
    expect(existsSync(dir)).toBe(true);
  });
});
