/**
 * The host link never shifts an answer: a `vmw9 serve` on a `vmw9 sim` whose host leaves one call
 * unanswered gives, from then on, either an error or the right answer, never another call's, and
 * is back to right answers once the link has been reset; a fresh process agrees.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NinepClient } from 'ninep';
import { afterAll, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

/** Polls until `cond` holds; the test's own limit bounds the wait. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

it('after one unanswered host call, every answer is right or an error, then right again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmw9-silent-'));
  const hostSock = join(dir, 'host.sock');
  const treeSock = join(dir, 'fs.sock');
  const sim = spawn(process.execPath, [bin, 'sim', '--listen', hostSock], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(sim);
  let console = '';
  sim.stdout.on('data', (d) => (console += d));
  await until(() => existsSync(hostSock));
  const serve = spawn(process.execPath, [bin, '--host', hostSock, 'serve', '--listen', treeSock], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(serve);
  await until(() => existsSync(treeSock));
  const c = await NinepClient.connect(treeSock, { version: '9P2000.u' });
  const read = (p: string) =>
    c.readFile(p).then(
      (b) => b.toString(),
      (e: Error) => ({ error: e.message }),
    );
  const uuid = await read('/info/uuid');
  const memsize = await read('/info/memsize');
  expect(typeof uuid).toBe('string');

  sim.stdin.write('fault silent on\n');
  const lost = read('/info/uuid');
  // The host has swallowed a call once its log shows it.
  while (!/SILENT/.test(console)) {
    sim.stdin.write('log 5\n');
    await new Promise((r) => setTimeout(r, 50));
  }
  sim.stdin.write('fault silent off\n');

  // Asked while the link is still waiting on the silent call, and after: never a wrong answer.
  const rounds: Array<Array<string | { error: string }>> = [];
  let right = 0;
  while (right < 3) {
    const r = await Promise.all([read('/info/uuid'), read('/info/memsize'), read('/info/uuid')]);
    rounds.push(r);
    for (const [i, v] of r.entries())
      if (typeof v === 'string')
        expect(v, `answer ${i} of round ${rounds.length}`).toBe(i === 1 ? memsize : uuid);
    right = r.every((v) => typeof v === 'string') ? right + 1 : 0;
  }
  const l = await lost;
  if (typeof l === 'string') expect(l).toBe(uuid);
  else expect(l.error).toMatch(/did not answer a call within .* the link was reset/);

  // A fresh process on the same host agrees.
  const fresh = spawnSync(process.execPath, [bin, '--host', hostSock, '--json', 'host'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(fresh.status).toBe(0);
  expect(JSON.stringify(JSON.parse(fresh.stdout))).toContain((uuid as string).trim().slice(0, 8));
  c.close();
}, 120_000);
