/**
 * ninep-ramfs against diod (exporting a tmpfs directory), both over Unix sockets in 9P2000.L and
 * driven by the same client in the same run:
 *  - small-operation rate: walk, lopen, read 1 KiB, clunk — one "op" is all four;
 *  - bulk read MB/s: sequential Treads of msize − 24 over a 32 MiB file;
 * each with 1 and with 32 concurrent clients (one connection each). Prints ratios ramfs/diod and
 * writes the report to <repo>/.reports/bench/ninep.txt.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { NinepClient } from '../src/index.js';
import { type Diod, startDiod } from '../test/support/diod.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const SECONDS = Number(process.env['NINEP_BENCH_SECONDS'] ?? 2);
const MSIZE = 131072; // what Linux asks for by default
const BULK = 32 << 20;

async function startRamfs(): Promise<{ addr: string; proc: ChildProcess }> {
  const sock = join(mkdtempSync(join(tmpdir(), 'ninep-bench-')), 'ramfs.sock');
  const proc = spawn(
    process.execPath,
    [join(repo, 'packages/ninep/dist/bin/ramfs.js'), '--listen', `unix!${sock}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`ninep-ramfs exited ${code}`)));
  });
  return { addr: `unix!${sock}`, proc };
}

async function connectAll(addr: string, n: number, aname: string): Promise<NinepClient[]> {
  // One at a time: diod's listen backlog refuses (EAGAIN) a burst of 32 Unix-socket connects.
  const out: NinepClient[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await NinepClient.connect(addr, {
        msize: MSIZE,
        aname,
        uname: 'root',
        nUname: process.getuid?.() ?? 0,
      }),
    );
  return out;
}

/** Runs `op` in a loop on every client for SECONDS; returns completed ops per second (all clients). */
async function rate(
  clients: NinepClient[],
  op: (c: NinepClient) => Promise<number>,
): Promise<{ perSec: number; units: number }> {
  const end = performance.now() + SECONDS * 1000;
  let ops = 0;
  let units = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        units += await op(c);
        ops++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { perSec: ops / secs, units: units / secs };
}

async function smallOp(c: NinepClient): Promise<number> {
  const fid = await c.walk(['small']);
  await c.rpc({ type: 'Tlopen', fid, flags: 0 });
  const d = await c.read(fid, 0, 1024);
  await c.clunk(fid);
  if (d.length !== 1024) throw new Error(`short read ${d.length}`);
  return 1;
}

/** One pass over the bulk file; returns bytes read. */
async function bulkPass(c: NinepClient): Promise<number> {
  const fid = await c.walk(['bulk']);
  await c.rpc({ type: 'Tlopen', fid, flags: 0 });
  let off = 0;
  for (;;) {
    const d = await c.read(fid, off, c.iounit);
    if (d.length === 0) break;
    off += d.length;
  }
  await c.clunk(fid);
  return off;
}

it('ninep-ramfs vs diod: small-op rate and bulk read, 1 and 32 clients', async () => {
  const ramfs = await startRamfs();
  let diod: Diod | undefined;
  const lines: string[] = [];
  try {
    diod = await startDiod();
    const small = Buffer.alloc(1024, 's');
    const bulk = Buffer.alloc(BULK);
    for (let i = 0; i < BULK; i += 4096) bulk[i] = i & 0xff;
    writeFileSync(join(diod.export, 'small'), small);
    writeFileSync(join(diod.export, 'bulk'), bulk);
    const seed = await NinepClient.connect(ramfs.addr, { msize: MSIZE });
    await seed.writeFile('small', small);
    await seed.writeFile('bulk', bulk);
    seed.close();

    const servers = [
      { name: 'ninep-ramfs', addr: ramfs.addr, aname: '' },
      { name: 'diod', addr: `unix!${diod.sock}`, aname: diod.export },
    ];
    const results: Record<string, Record<string, number>> = {};
    const msizes: Record<string, number> = {};
    for (const n of [1, 32]) {
      for (const s of servers) {
        const clients = await connectAll(s.addr, n, s.aname);
        msizes[s.name] = clients[0]!.msize;
        const r = await rate(clients, smallOp);
        const b = await rate(clients, bulkPass);
        for (const c of clients) c.close();
        results[s.name] ??= {};
        results[s.name]![`small×${n}`] = r.perSec;
        results[s.name]![`bulk×${n}`] = b.units / 1e6;
      }
    }
    lines.push(
      `ninep bench: 9P2000.L over Unix sockets, ${SECONDS} s per figure, one Node client process (this one) for both servers`,
    );
    lines.push(
      `msize granted: ninep-ramfs ${msizes['ninep-ramfs']}, diod ${msizes['diod']} (asked ${MSIZE}); diod with 16 worker threads, export on tmpfs`,
    );
    lines.push('');
    lines.push('figure                               ninep-ramfs          diod     ratio ramfs/diod');
    for (const key of ['small×1', 'small×32', 'bulk×1', 'bulk×32']) {
      const a = results['ninep-ramfs']![key]!;
      const d = results['diod']![key]!;
      const label = key.startsWith('small')
        ? `small ops/s (walk+open+read 1K+clunk), ${key.split('×')[1]} client(s)`
        : `bulk read MB/s, ${key.split('×')[1]} client(s)`;
      lines.push(
        `${label.padEnd(36)} ${a.toFixed(key.startsWith('small') ? 0 : 1).padStart(11)} ${d.toFixed(key.startsWith('small') ? 0 : 1).padStart(13)} ${(a / d).toFixed(2).padStart(12)}`,
      );
      expect(a).toBeGreaterThan(0);
      expect(d).toBeGreaterThan(0);
    }
  } finally {
    ramfs.proc.kill('SIGTERM');
    await diod?.stop();
  }
  const report = lines.join('\n');
  console.log(report);
  mkdirSync(join(repo, '.reports/bench'), { recursive: true });
  writeFileSync(join(repo, '.reports/bench/ninep.txt'), `${report}\n`);
});
