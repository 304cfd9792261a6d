/**
 * Drag and drop of files, host→guest, vmw9 against the guest tools' own HGFS server, in one run on
 * one simulated host (a VmxHost in this process, served on a Unix socket):
 *  - `vmtoolsd -n vmusr` (open-vm-tools-desktop, unmodified) under vmx-trap on its own Xvfb
 *    display: its dndcp plugin answers the drag, its hgfsServer plugin takes the files;
 *  - the vmw9 agent under vmx-trap: its dnd service answers the drag, @vmw9/hgfs's server with
 *    the guest's confined share takes the files.
 * The host drags one 64 MiB file into each (docs/protocol/dndcp.md, "Host side"): SRC_DRAG_BEGIN
 * with the file list, SRC_DROP, the guest names its staging directory, the host writes the file
 * through the guest's HGFS server over TCLO `f` (the same requests to both), GET_FILES_DONE. Two
 * rows: the HGFS transfer alone (first request to last reply) and the whole drop (SRC_DRAG_BEGIN
 * to GET_FILES_DONE's answer). Each is the median of REPEAT drops after one not counted; the
 * staged file is compared with the original. Ratios are vmusr / vmw9 (above 1: vmw9 is faster,
 * or makes fewer backdoor calls).
 * Writes <repo>/.reports/bench/dnd.txt. Skipped, saying why, without vmusr or Xvfb.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DropOutcome, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'apps/cli/dist/bin.js');
const trap = join(repo, 'packages/vmx-sim/bin/vmx-trap.js');
const DNDCP_PLUGIN = '/usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/vmusr/libdndcp.so';
const HGFS_PLUGIN = '/usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/common/libhgfsServer.so';
const REPEAT = Number(process.env['VMW9_DND_BENCH_REPEAT'] ?? 5);
const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = !has('vmtoolsd')
  ? 'vmtoolsd missing (packages/vmx-sim/install-deps.sh installs open-vm-tools-desktop)'
  : !existsSync(DNDCP_PLUGIN)
    ? 'open-vm-tools-desktop missing (libdndcp.so)'
    : !existsSync(HGFS_PLUGIN)
      ? 'open-vm-tools missing (libhgfsServer.so)'
      : !has('Xvfb')
        ? 'Xvfb missing'
        : undefined;

interface Sample {
  ms: number;
  calls: number;
}
interface DropSamples {
  transfer: Sample;
  whole: Sample;
}

function median(xs: Sample[]): Sample {
  const by = (k: keyof Sample) => [...xs].sort((a, b) => a[k] - b[k])[xs.length >> 1]![k];
  return { ms: by('ms'), calls: by('calls') };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await sleep(10);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

function underTrap(socket: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(
    process.execPath,
    [trap, '--cpuid', 'vmware', '--host', `unix!${socket}`, '-q', '--', ...argv],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
}

/** An Xvfb on a free display (it writes the number it took on fd 3). */
async function xvfb(procs: ChildProcess[]): Promise<string> {
  const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1024x768x24'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  procs.push(x);
  const n = await new Promise<string>((resolve, reject) => {
    let s = '';
    x.stdio[3]!.on('data', (c: Buffer) => {
      s += c;
      if (s.includes('\n')) resolve(s.trim());
    });
    x.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
  });
  return `:${n}`;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every regular file named `name` under `dir` (the staged copies). */
function find(dir: string, name: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...find(p, name));
    else if (e.isFile() && e.name === name) out.push(p);
  }
  return out;
}

/** One drop not counted, then REPEAT counted; each staged copy is found under `stagingRoot`, checked once, removed. */
async function measure(
  host: VmxHost,
  file: string,
  want: string,
  stagingRoot: string,
  kept: (path: string) => boolean,
): Promise<DropSamples> {
  const transfer: Sample[] = [];
  const whole: Sample[] = [];
  for (let i = -1; i < REPEAT; i++) {
    const mark = host.log.mark();
    const t0 = performance.now();
    const o: DropOutcome = await host.dnd.drop([file]);
    const ms = performance.now() - t0;
    expect(o.result, `the drop: ${o.reason ?? ''}`).toBe('done');
    // The guest may still be putting the drop in its place after answering GET_FILES_DONE.
    await until('the staged copy in its place', () => find(stagingRoot, 'big64.bin').some(kept));
    const copies = find(stagingRoot, 'big64.bin');
    expect(copies.length, `one staged copy under ${stagingRoot}`).toBe(1);
    if (i === -1) expect(sha256(copies[0]!), 'the staged file equals the original').toBe(want);
    else {
      transfer.push({ ms: o.transfer!.ms, calls: o.transfer!.backdoorCalls });
      whole.push({ ms, calls: host.log.total(mark) });
    }
    for (const e of readdirSync(stagingRoot)) rmSync(join(stagingRoot, e), { recursive: true, force: true });
    // vmusr names its staging directory by a link in /tmp/VMwareDnD to the real one: gone too.
    const named = o.staging?.guestPath.replace(/\/+$/, '');
    if (named && named !== stagingRoot && lstatSync(named, { throwIfNoEntry: false })?.isSymbolicLink())
      rmSync(named, { force: true });
  }
  return { transfer: median(transfer), whole: median(whole) };
}

const fmt = (s: Sample) => `${s.ms.toFixed(0).padStart(8)} ms ${String(s.calls).padStart(7)} calls`;

it.skipIf(skip !== undefined)(
  `drag and drop: a 64 MiB file host→guest into vmw9 and into vmusr on one simulated host${skip ? ` (skipped: ${skip})` : ''}`,
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'vmw9-dnd-bench-'));
    const socket = join(work, 'host.sock');
    const host = new VmxHost();
    const server = await serveHost(host, socket);
    const procs: ChildProcess[] = [];
    try {
      const src = join(work, 'src');
      mkdirSync(src);
      const file = join(src, 'big64.bin');
      const fd = openSync(file, 'w');
      for (let off = 0; off < SIZE; off += MiB) writeSync(fd, randomBytes(MiB));
      closeSync(fd);
      const want = sha256(file);

      // vmusr stages under $XDG_CACHE_HOME/vmware/drag_and_drop and links /tmp/VMwareDnD/X to it.
      const cache = join(work, 'cache');
      const display = await xvfb(procs);
      const vmusr = underTrap(socket, ['vmtoolsd', '-n', 'vmusr'], {
        DISPLAY: display,
        XDG_CACHE_HOME: cache,
      });
      procs.push(vmusr);
      await until(
        'vmusr negotiates drag and drop and serves HGFS',
        () => host.dnd.active && host.guestHgfs.servers().includes('toolbox-dnd'),
      );
      await sleep(1500); // vmusr re-registers 300 ms after the reset and pings again
      const vmusrRoot = join(cache, 'vmware', 'drag_and_drop');
      const vmusrResult = await measure(host, file, want, vmusrRoot, () => true);
      vmusr.kill('SIGTERM');
      await new Promise((r) => vmusr.once('exit', r));
      host.reset();
      await until('drag and drop forgotten', () => !host.dnd.active);

      const run = join(work, 'run');
      mkdirSync(run, { mode: 0o700 });
      const tree = join(work, 'tree.sock');
      const agent = underTrap(
        socket,
        [process.execPath, bin, 'agent', '--level', 'warn', '--listen', `unix!${tree}`],
        {
          VMW9_BACKDOOR: '',
          XDG_RUNTIME_DIR: run,
        },
      );
      procs.push(agent);
      await until(
        'the vmw9 agent negotiates drag and drop and serves HGFS',
        () => host.dnd.active && host.guestHgfs.servers().includes('toolbox-dnd'),
      );
      // The agent stages in .partial.* and renames the directory drop.* once whole (docs/protocol/tree.md).
      const vmw9Result = await measure(host, file, want, join(run, 'vmw9', 'dnd'), (p) =>
        p.includes('/drop.'),
      );

      const lines = [
        `drag and drop host→guest of one 64 MiB file: vmw9 (agent, @vmw9/hgfs) against vmusr (open-vm-tools-desktop: dndcp + hgfsServer, Xvfb), both under vmx-trap on one simulated host; median of ${REPEAT} after one not counted`,
        'ratios are vmusr / vmw9: above 1, vmw9 is faster or makes fewer backdoor calls',
        '',
        `${'workload'.padEnd(34)}${'vmusr'.padStart(26)}${'vmw9'.padStart(26)}   time ratio  calls ratio`,
      ];
      for (const [name, k] of [
        ['64 MiB: HGFS transfer', 'transfer'],
        ['64 MiB: whole drop', 'whole'],
      ] as const) {
        const u = vmusrResult[k];
        const v = vmw9Result[k];
        lines.push(
          `${name.padEnd(34)}${fmt(u).padStart(26)}${fmt(v).padStart(26)}   ${(u.ms / v.ms).toFixed(2).padStart(10)}  ${(u.calls / v.calls).toFixed(2).padStart(11)}`,
        );
      }
      const report = `${lines.join('\n')}\n`;
      mkdirSync(join(repo, '.reports/bench'), { recursive: true });
      writeFileSync(join(repo, '.reports/bench/dnd.txt'), report);
      console.log(report);
    } finally {
      for (const p of procs.reverse()) p.kill('SIGTERM');
      await server.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
  1_800_000,
);
