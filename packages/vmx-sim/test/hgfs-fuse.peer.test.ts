/**
 * Real peer: unmodified vmhgfs-fuse (open-vm-tools 12) under vmx-trap mounts shares of a vmx-sim
 * host on this machine (FUSE) and every file operation through the mount is checked on the host
 * directory too. Needs root and /dev/fuse (skipped, saying so, where either is missing); the mounts
 * are taken down whatever happens.
 */
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const trap = fileURLToPath(new URL('../../vmx-sim-linux-x64/vmx-trap', import.meta.url));
const skipReason = !existsSync('/dev/fuse')
  ? 'no /dev/fuse on this machine'
  : process.getuid?.() !== 0
    ? 'not root (mounting FUSE file systems for this test needs root)'
    : undefined;

const MiB = 1024 * 1024;
let dir: string;
let docs: string;
let pub: string;
let sim: ChildProcess | undefined;
const mounts: { point: string; child: ChildProcess; log: () => string }[] = [];

function ask<T>(message: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        sim!.off('message', on);
        sim!.off('exit', gone);
        resolve(m[key] as T);
      }
    };
    const gone = () => reject(new Error('the simulated host has exited'));
    sim!.on('message', on);
    sim!.once('exit', gone);
    sim!.send(message);
  });
}
const consoleLine = (line: string) => ask<string>({ line }, 'answer');
const stats = () => ask<{ calls: number; hgfs: Record<string, number> }>({ stats: true }, 'stats');

function isMounted(point: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === point);
}

/** Takes a mount down (lazily, so a stuck one cannot hold the test) and ends its vmhgfs-fuse. */
function unmount(point: string): void {
  if (isMounted(point)) spawnSync('fusermount3', ['-u', '-z', point], { stdio: 'ignore' });
  if (isMounted(point)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}

function running(p: ChildProcess | undefined): p is ChildProcess {
  return p !== undefined && p.exitCode === null && p.signalCode === null;
}

function cleanUp(): void {
  for (const m of mounts) {
    unmount(m.point);
    if (running(m.child)) m.child.kill('SIGKILL');
  }
  if (running(sim)) sim.kill('SIGTERM');
}

function exited(p: ChildProcess, ms: number): Promise<void> {
  if (!running(p)) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve();
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function mount(share: string, point: string, socket: string): Promise<void> {
  mkdirSync(point, { recursive: true });
  const child = spawn(
    trap,
    [
      '--host',
      `unix!${socket}`,
      '--cpuid',
      'vmware',
      '-q',
      '--',
      'vmhgfs-fuse',
      '-f',
      `.host:/${share}`,
      point,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  mounts.push({ point, child, log: () => out });
  for (let i = 0; i < 300 && !isMounted(point); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!isMounted(point)) throw new Error(`vmhgfs-fuse did not mount .host:/${share}: ${out.slice(-500)}`);
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe.skipIf(skipReason !== undefined)(
  `vmhgfs-fuse under vmx-trap on a vmx-sim host${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  { timeout: 180_000 },
  () => {
    let mnt: string;
    let mntro: string;

    beforeAll(async () => {
      // If the run dies before afterAll, do not leave mounts behind.
      process.once('exit', cleanUp);
      dir = mkdtempSync(join(tmpdir(), 'vmx-hgfs-fuse-'));
      docs = join(dir, 'host-docs');
      pub = join(dir, 'host-pub');
      mkdirSync(join(docs, 'sub'), { recursive: true });
      mkdirSync(pub);
      writeFileSync(join(docs, 'sub', 'from-host.txt'), 'written on the host');
      writeFileSync(join(pub, 'r.txt'), 'read only');
      const socket = join(dir, 'host.sock');
      const shares = [
        { name: 'docs', dir: docs, readOnly: false },
        { name: 'pub', dir: pub, readOnly: true },
      ];
      sim = fork(
        fileURLToPath(new URL('./hgfs-sim-process.mjs', import.meta.url)),
        [socket, JSON.stringify(shares)],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      await new Promise((resolve, reject) => {
        sim!.once('message', resolve);
        sim!.once('exit', (code) => reject(new Error(`the simulated host exited (${code})`)));
      });
      mnt = join(dir, 'mnt');
      mntro = join(dir, 'mnt-ro');
      await mount('docs', mnt, socket);
      await mount('pub', mntro, socket);
    }, 120_000);

    afterAll(async () => {
      cleanUp();
      process.off('exit', cleanUp);
      for (const m of mounts) await exited(m.child, 10_000);
      if (sim) await exited(sim, 10_000);
      for (const m of mounts) expect(isMounted(m.point)).toBe(false);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('reads what the host wrote; the share root lists what the host has', () => {
      expect(readFileSync(join(mnt, 'sub', 'from-host.txt'), 'utf8')).toBe('written on the host');
      expect(readdirSync(mnt).sort()).toEqual(readdirSync(docs).sort());
    });

    it('create, write, read back, append, truncate: each seen on the host', () => {
      const f = join(mnt, 'a.txt');
      const h = join(docs, 'a.txt');
      writeFileSync(f, 'hello');
      expect(readFileSync(h, 'utf8')).toBe('hello');
      expect(readFileSync(f, 'utf8')).toBe('hello');
      appendFileSync(f, ', world');
      expect(readFileSync(h, 'utf8')).toBe('hello, world');
      expect(readFileSync(f, 'utf8')).toBe('hello, world');
      truncateSync(f, 4);
      expect(readFileSync(h, 'utf8')).toBe('hell');
      expect(statSync(f).size).toBe(4);
      truncateSync(f, 10);
      expect(readFileSync(h)).toEqual(Buffer.from('hell\0\0\0\0\0\0'));
    });

    it('rename, mkdir, rmdir, remove', () => {
      writeFileSync(join(mnt, 'old.txt'), 'moving');
      renameSync(join(mnt, 'old.txt'), join(mnt, 'new.txt'));
      expect(existsSync(join(docs, 'old.txt'))).toBe(false);
      expect(readFileSync(join(docs, 'new.txt'), 'utf8')).toBe('moving');
      mkdirSync(join(mnt, 'd1'));
      expect(lstatSync(join(docs, 'd1')).isDirectory()).toBe(true);
      renameSync(join(mnt, 'new.txt'), join(mnt, 'd1', 'in.txt'));
      expect(readFileSync(join(docs, 'd1', 'in.txt'), 'utf8')).toBe('moving');
      expect(() => rmdirSync(join(mnt, 'd1'))).toThrow(/ENOTEMPTY/);
      unlinkSync(join(mnt, 'd1', 'in.txt'));
      expect(existsSync(join(docs, 'd1', 'in.txt'))).toBe(false);
      rmdirSync(join(mnt, 'd1'));
      expect(existsSync(join(docs, 'd1'))).toBe(false);
    });

    it('ls -la and stat agree with the host', () => {
      writeFileSync(join(docs, 'sized.bin'), Buffer.alloc(12345, 1));
      const ls = execFileSync('ls', ['-la', mnt], { encoding: 'utf8' });
      const line = ls.split('\n').find((l) => l.endsWith(' sized.bin'))!;
      expect(line).toMatch(/^-rw-r--r-- +1 root root +12345 /);
      expect(ls).toMatch(/ \.\n/);
      expect(ls).toMatch(/ \.\.\n/);
      expect(ls).toMatch(/^d.* sub$/m);
      const fmt = '%s %a %F %Y';
      const viaMount = execFileSync('stat', ['-c', fmt, join(mnt, 'sized.bin')], { encoding: 'utf8' });
      const onHost = execFileSync('stat', ['-c', fmt, join(docs, 'sized.bin')], { encoding: 'utf8' });
      expect(viaMount).toBe(onHost);
      expect(execFileSync('stat', ['-c', '%F', join(mnt, 'sub')], { encoding: 'utf8' })).toBe('directory\n');
    });

    it('a symlink made through the mount and one made on the host: readlink gives each target exactly', () => {
      symlinkSync('sub/from-host.txt', join(mnt, 'link'));
      expect(readlinkSync(join(docs, 'link'))).toBe('sub/from-host.txt');
      expect(readlinkSync(join(mnt, 'link'))).toBe('sub/from-host.txt');
      expect(readFileSync(join(mnt, 'link'), 'utf8')).toBe('written on the host');
      const long = `${'d/'.repeat(60)}target with spaces`;
      symlinkSync(long, join(docs, 'host-link'));
      expect(execFileSync('readlink', [join(mnt, 'host-link')], { encoding: 'utf8' })).toBe(`${long}\n`);
      expect(lstatSync(join(mnt, 'host-link')).isSymbolicLink()).toBe(true);
    });

    it('a 64 MiB file written and read back through the mount: the same checksum on both sides', async () => {
      const local = join(dir, 'big.local');
      writeFileSync(local, randomBytes(64 * MiB));
      const want = sha256(local);
      const before = await stats();
      let t = performance.now();
      execFileSync('cp', [local, join(mnt, 'big.bin')]);
      const writeMs = performance.now() - t;
      expect(sha256(join(docs, 'big.bin'))).toBe(want);
      const mid = await stats();
      t = performance.now();
      const back = join(dir, 'big.back');
      execFileSync('cp', [join(mnt, 'big.bin'), back]);
      const readMs = performance.now() - t;
      expect(sha256(back)).toBe(want);
      const after = await stats();
      const writes = (mid.hgfs.WRITE_V3 ?? 0) - (before.hgfs.WRITE_V3 ?? 0);
      const reads = (after.hgfs.READ_V3 ?? 0) - (mid.hgfs.READ_V3 ?? 0);
      // vmhgfs-fuse writes what FUSE hands it (at most 128 KiB) and reads up to a large packet.
      expect(writes).toBeGreaterThanOrEqual(64 * 4);
      expect(reads).toBeGreaterThanOrEqual((64 * MiB) / (512 * 1024));
      console.info(
        `64 MiB through vmhgfs-fuse: write ${writeMs.toFixed(0)} ms (${writes} WRITE_V3, ${mid.calls - before.calls} backdoor calls), ` +
          `read ${readMs.toFixed(0)} ms (${reads} READ_V3, ${after.calls - mid.calls} backdoor calls)`,
      );
      rmSync(local);
      rmSync(back);
    });

    it('a read-only share: reads work, every change is refused, the host folder is untouched', async () => {
      expect(readFileSync(join(mntro, 'r.txt'), 'utf8')).toBe('read only');
      expect(() => writeFileSync(join(mntro, 'r.txt'), 'x')).toThrow(/EACCES/);
      expect(() => writeFileSync(join(mntro, 'new.txt'), 'x')).toThrow(/EACCES/);
      expect(() => appendFileSync(join(mntro, 'r.txt'), 'x')).toThrow(/EACCES/);
      expect(() => mkdirSync(join(mntro, 'd'))).toThrow(/EACCES/);
      expect(() => unlinkSync(join(mntro, 'r.txt'))).toThrow(/EACCES/);
      // The host says ACCESS_DENIED; vmhgfs-fuse then tries to clear a Windows read-only bit on the
      // target (file.c HgfsRename), finds no target, and reports that instead.
      expect(() => renameSync(join(mntro, 'r.txt'), join(mntro, 's.txt'))).toThrow(/ENOENT/);
      expect(await consoleLine('hgfs log 40')).toContain(
        'RENAME_V3 "pub/r.txt -> pub/s.txt" -> ACCESS_DENIED',
      );
      expect(() => symlinkSync('r.txt', join(mntro, 'l'))).toThrow(/EACCES/);
      expect(readdirSync(pub)).toEqual(['r.txt']);
      expect(readFileSync(join(pub, 'r.txt'), 'utf8')).toBe('read only');
    });

    it('backdoor calls per operation, from the simulator’s log', async () => {
      writeFileSync(join(docs, 'fresh.txt'), 'new on the host');
      const before = await stats();
      statSync(join(mnt, 'fresh.txt'));
      const mid = await stats();
      const requests =
        Object.values(mid.hgfs).reduce((a, b) => a + b, 0) -
        Object.values(before.hgfs).reduce((a, b) => a + b, 0);
      const calls = mid.calls - before.calls;
      expect(requests).toBeGreaterThanOrEqual(1);
      // One HGFS request is one RPCI on an open channel: SENDSIZE, HB OUT, RECVSIZE, HB IN, RECVSTATUS.
      expect(calls).toBe(requests * 5);
      console.info(`stat through vmhgfs-fuse: ${requests} HGFS requests, ${calls} backdoor calls`);
      expect(await consoleLine('hgfs')).toMatch(/shares 2; sessions 2\/1024/);
    });
  },
);
