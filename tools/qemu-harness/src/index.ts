/**
 * @vmw9/qemu-harness — run a command inside a throw-away QEMU (TCG) guest.
 *
 * The guest boots the host's Debian kernel with a tiny busybox initramfs, mounts the
 * host's `/` read-only over virtio-9p and chroots into it, so the command runs the
 * host's own binaries (e.g. /usr/bin/node) against the repo at the same absolute path.
 * Inside the guest the VMware backdoor (port 0x5658) and the vmmouse are real QEMU
 * devices, which is the point: code that talks to them can be tested end to end.
 *
 * Facts this relies on (measured, see docs/testing.md §1, §3):
 *  - KVM here is PVM and cannot run a stock kernel, so we always use `-accel tcg`.
 *  - CPL3 backdoor access needs ioperm(0x5658, 4, 1) (4 ports: `in eax,dx`), hence iopriv.
 *  - psmouse must not be loaded (it would grab the vmmouse queue); we never insmod it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------
// Public types

export interface GuestImage {
  /**
   * -kernel: the uncompressed PVH vmlinux cached next to the initrd (boots ~2.4 s faster
   * under TCG), or the host's /boot/vmlinuz-<ver> if it could not be extracted.
   */
  kernel: string;
  /** Cached gzip'd newc initramfs (used as -initrd). */
  initrd: string;
}

export interface RunGuestOptions {
  /**
   * Extra QEMU arguments, appended after the harness's own, e.g.
   * ['-machine', 'pc,vmport=on', '-global', 'vmport.vmware-vmx-version=7'].
   * If they contain -machine/-M or -m, the harness does not add its own.
   */
  qemuArgs?: string[];
  /** QEMU machine type; default 'pc'. Ignored when qemuArgs has -machine/-M. */
  machine?: string;
  /** argv run in the guest: chrooted into the host root, cwd = repo root. */
  command: string[];
  /** Run the command with ioperm(0x5658, 4, 1) (via iopriv); default true. */
  ioperm?: boolean;
  /** Extra environment for the command (on top of PATH, HOME=TMPDIR=/dev/shm, LANG, TERM). */
  env?: Record<string, string>;
  /** Whole-run limit (boot + command + callback); default 120000. QEMU is killed on expiry. */
  timeoutMs?: number;
  /**
   * If given, QEMU gets a QMP socket and this is called once the command's output matches
   * `readyMarker` (or, without one, as soon as the command has started).
   * A rejection kills the guest and fails runGuest.
   */
  onQmp?: (qmp: Qmp, guest: RunningGuest) => Promise<void>;
  /** Line/text the command prints when it is ready for onQmp. */
  readyMarker?: RegExp;
}

export interface GuestResult {
  /** Exit status of the command (128+N if killed by signal N). */
  exitCode: number;
  /** What the command printed (stdout+stderr merged), between the begin/exit markers. */
  stdout: string;
  /** Full console log (firmware, /init, command), `\r` stripped. */
  serial: string;
  /** ms from spawning QEMU to the command starting. */
  bootMs: number;
  /** ms from spawning QEMU to QEMU exiting. */
  wallMs: number;
}

export interface RunningGuest {
  /**
   * Resolves with the text matching `re` in the command's output. Expect-style: the
   * search starts after the previous match (or the ready marker), so repeated calls see
   * successive occurrences. Rejects on timeout or when the guest exits first.
   */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<string>;
  /** The command's output so far. */
  readonly output: string;
  /** The full console log so far. */
  readonly serial: string;
}

/**
 * Error thrown by the harness. `message` ends with the last 40 console lines;
 * `reason` is the message without them; `serial` is the full console log at the time.
 */
export class GuestError extends Error {
  constructor(
    readonly reason: string,
    readonly serial: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}\n--- last 40 serial lines ---\n${tail(serial, 40)}`, options);
    this.name = 'GuestError';
  }
}

// ---------------------------------------------------------------------------------------
// Paths and constants

const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Repo root: nearest ancestor of this package with pnpm-workspace.yaml or .git. */
function findRepoRoot(): string {
  for (let dir = dirname(PKG_DIR); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml')) || existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return resolve(PKG_DIR, '../..'); // tools/qemu-harness -> root
  }
}

const REPO_ROOT = findRepoRoot();
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'vmw9-qemu');
const QEMU = 'qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';
/**
 * Modules we need; their dependencies are pulled in from modules.dep. virtio_net and 9pnet_fd
 * (tcp/unix/fd 9P transports) let peer tests mount a host-side 9P server through QEMU user
 * networking + guestfwd to a Unix socket (packages/ninep conformance suite).
 */
const ROOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'virtio_net', '9pnet_fd'];
/** Bump when the initramfs layout changes in a way the hash below does not see. */
const IMAGE_FORMAT = 2;
const MARK = '@@VMW9';

/**
 * /init of the initramfs (busybox sh, PID 1). The kernel command line carries only
 * vmw9.script=<abs path of the run script on the host>; the run dir next to it holds
 * `nonce` (makes markers unforgeable by the command) and, if wanted, `ioperm`.
 * Everything is reported on the console (ttyS0); kernel messages are silenced by
 * `quiet loglevel=0` so the command's output is clean.
 */
const INIT_SCRIPT = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t devtmpfs devtmpfs /dev
# The kernel may have found no /dev/console before devtmpfs existed: (re)open stdio.
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
die() {
  echo
  echo "${MARK}-ERROR $*"
  poweroff -f; reboot -f; sleep 100000
}
while read -r m; do
  insmod "/lib/modules/$m" || die "insmod $m failed"
done </lib/modules/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 hostroot /mnt/host \\
  || die "mounting the 9p host root failed"
# The share is read-only, so the writable/virtual file systems go on top of it.
h=/mnt/host
mount -t proc proc $h/proc || die "mount proc"
mount -t sysfs sysfs $h/sys || die "mount sysfs"
mount -t devtmpfs devtmpfs $h/dev || die "mount devtmpfs"
mkdir -p $h/dev/pts $h/dev/shm
mount -t devpts devpts $h/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $h/dev/shm || die "mount tmpfs /dev/shm"
script=
for a in $(cat /proc/cmdline); do
  case "$a" in vmw9.script=*) script="\${a#vmw9.script=}" ;; esac
done
# Fresh /tmp and /run, unless the checkout (and so the run script) lives under one of them:
# a tmpfs there would hide it. HOME and TMPDIR point at /dev/shm, which is always writable.
case "$script" in /tmp/*) ;; *) mount -t tmpfs -o mode=1777 tmpfs $h/tmp || die "mount tmpfs /tmp" ;; esac
case "$script" in /run/*) ;; *) mount -t tmpfs -o mode=755 tmpfs $h/run ;; esac
run="\${script%/*}"
[ -n "$script" ] && [ -f "$h$script" ] || die "run script '$script' not visible in the guest"
nonce=$(cat "$h$run/nonce")
wrap=
[ -e "$h$run/ioperm" ] && wrap=/sbin/iopriv
echo
echo "${MARK}-BEGIN $nonce"
$wrap chroot $h /bin/sh "$script" </dev/null
rc=$?
printf '\\n${MARK}-EXIT %s %d\\n' "$nonce" "$rc"
poweroff -f
reboot -f
sleep 100000
`;

// ---------------------------------------------------------------------------------------
// Guest image

let imagePromise: Promise<GuestImage> | undefined;

/** Builds (once per repo checkout + kernel + init/iopriv source) and returns the guest image. */
export function ensureGuestImage(): Promise<GuestImage> {
  imagePromise ??= buildGuestImage().catch((err: unknown) => {
    imagePromise = undefined; // let a later call retry (e.g. after installing packages)
    throw err;
  });
  return imagePromise;
}

function installDeps(): void {
  const r = spawnSync('sh', [join(PKG_DIR, 'install-deps.sh')], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) {
    throw new Error(`qemu-harness: install-deps.sh failed (status ${r.status}):\n${r.stderr}${r.stdout}`);
  }
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Newest /boot/vmlinuz-<ver> whose /lib/modules/<ver> has the 9p module. */
function findKernel(): { kernel: string; version: string } | undefined {
  const versions = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => {
      const dir = `/lib/modules/${v}/kernel/fs/9p`;
      return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('9p.ko'));
    })
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const version = versions[0];
  return version === undefined ? undefined : { kernel: `/boot/vmlinuz-${version}`, version };
}

/** Module files (relative to /lib/modules/<ver>) in load order, dependencies first. */
function resolveModules(version: string): string[] {
  const base = `/lib/modules/${version}`;
  const deps = new Map<string, { path: string; deps: string[] }>();
  const modName = (p: string): string =>
    basename(p)
      .replace(/\.ko(\.(xz|zst|gz))?$/, '')
      .replace(/-/g, '_');
  for (const line of readFileSync(join(base, 'modules.dep'), 'utf8').split('\n')) {
    const [path, rest] = line.split(':');
    if (!path || rest === undefined) continue;
    deps.set(modName(path), { path, deps: rest.trim().split(/\s+/).filter(Boolean).map(modName) });
  }
  const builtin = existsSync(join(base, 'modules.builtin'))
    ? new Set(readFileSync(join(base, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(modName))
    : new Set<string>();
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const m = deps.get(name);
    if (!m) {
      if (builtin.has(name)) return; // compiled into the kernel: nothing to load
      throw new Error(`qemu-harness: kernel module ${name} not found for ${version}`);
    }
    m.deps.forEach(visit);
    order.push(m.path);
  };
  ROOT_MODULES.forEach(visit);
  return order;
}

async function buildGuestImage(): Promise<GuestImage> {
  if (!hasCommand(QEMU) || !findKernel()) installDeps();
  const found = findKernel();
  if (!found) throw new Error('qemu-harness: no /boot/vmlinuz-* with a matching 9p module');
  const modules = resolveModules(found.version);

  const ioprivSrc = await readFile(join(PKG_DIR, 'iopriv.c'), 'utf8');
  const bb = existsSync(BUSYBOX) ? statSync(BUSYBOX) : undefined;
  const key = createHash('sha256')
    .update(
      JSON.stringify([IMAGE_FORMAT, found.version, INIT_SCRIPT, ioprivSrc, modules, bb?.size, bb?.mtimeMs]),
    )
    .digest('hex')
    .slice(0, 16);
  const dir = join(CACHE_DIR, `image-${found.version}-${key}`);
  const vmlinux = join(dir, 'vmlinux');
  const image = (): GuestImage => ({
    kernel: existsSync(vmlinux) ? vmlinux : found.kernel,
    initrd: join(dir, 'initrd.gz'),
  });
  if (existsSync(join(dir, 'initrd.gz'))) return image();

  installDeps(); // busybox-static, cpio, gcc are only needed to build
  await mkdir(CACHE_DIR, { recursive: true });
  // Build next to the final place and rename: concurrent vitest workers may race here.
  const work = await mkdtemp(join(CACHE_DIR, `build-${process.pid}-`));
  try {
    const root = join(work, 'root');
    for (const d of [
      'bin',
      'sbin',
      'usr/bin',
      'usr/sbin',
      'dev',
      'proc',
      'sys',
      'tmp',
      'mnt/host',
      'lib/modules',
    ]) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(join(root, 'init'), INIT_SCRIPT, { mode: 0o755 });

    await copyFile(BUSYBOX, join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    const applets = run(BUSYBOX, ['--list-full']).split('\n').filter(Boolean);
    for (const a of applets) {
      if (a === 'bin/busybox' || existsSync(join(root, a))) continue;
      await mkdir(dirname(join(root, a)), { recursive: true });
      await symlink('/bin/busybox', join(root, a));
    }

    // iopriv: static, so it runs both in the initramfs and (if ever needed) in the chroot.
    run('gcc', ['-O2', '-static', '-Wall', '-o', join(work, 'iopriv'), join(PKG_DIR, 'iopriv.c')]);
    await copyFile(join(work, 'iopriv'), join(root, 'sbin/iopriv'));

    const order: string[] = [];
    for (const rel of modules) {
      const src = join(`/lib/modules/${found.version}`, rel);
      const name = basename(rel).replace(/\.(xz|zst|gz)$/, '');
      const dst = join(root, 'lib/modules', name);
      // busybox insmod only takes plain ELF modules, so decompress here.
      if (rel.endsWith('.xz')) await writeFile(dst, runBuf('xz', ['-dc', src]));
      else if (rel.endsWith('.zst')) await writeFile(dst, runBuf('zstd', ['-dc', src]));
      else if (rel.endsWith('.gz')) await writeFile(dst, runBuf('gzip', ['-dc', src]));
      else await copyFile(src, dst);
      order.push(name);
    }
    await writeFile(join(root, 'lib/modules/order'), `${order.join('\n')}\n`);

    // newc archive owned by root; dirs come before their contents in the list.
    const list = `${(await listTree(root)).join('\n')}\n`;
    const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], {
      cwd: root,
      input: list,
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    });
    if (cpio.status !== 0) throw new Error(`qemu-harness: cpio failed: ${cpio.stderr.toString()}`);
    // gzip -1: TCG decompresses slowly, size hardly matters.
    await writeFile(join(work, 'initrd.gz'), gzipSync(cpio.stdout, { level: 1 }));
    await rm(root, { recursive: true, force: true });
    await extractPvhKernel(found.kernel, join(work, 'vmlinux'));

    try {
      await rename(work, dir);
    } catch (err) {
      if (!existsSync(join(dir, 'initrd.gz'))) throw err; // someone else won the race: fine
    }
    // Drop images for older kernels/init scripts (the vmlinux is ~66 MB each). A QEMU that
    // is still using one has already read it, so removing it under its feet is harmless.
    for (const n of readdirSync(CACHE_DIR)) {
      if (n.startsWith('image-') && join(CACHE_DIR, n) !== dir) {
        rmSync(join(CACHE_DIR, n), { recursive: true, force: true });
      }
    }
    return image();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Boot-time optimisation: under TCG, decompressing the xz bzImage takes ~2.5 s of the ~4.3 s
 * boot. The Debian kernel has CONFIG_PVH, so QEMU can boot the uncompressed ELF vmlinux
 * directly through its PVH entry (measured: boot 4.3 s -> 1.9 s). We extract it once into
 * the cache. If anything is off (not xz, no PVH note), we keep the bzImage instead.
 */
async function extractPvhKernel(bzImage: string, out: string): Promise<void> {
  const data = await readFile(bzImage);
  const at = data.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])); // xz magic
  if (at < 0) return;
  const r = spawnSync('xz', ['-dc', '--single-stream'], {
    input: data.subarray(at),
    maxBuffer: 512 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.status !== 0 || !hasPvhNote(r.stdout)) return;
  await writeFile(out, r.stdout);
}

/** True if `elf` is an ELF64 image with a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). */
function hasPvhNote(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    let off = Number(elf.readBigUInt64LE(ph + 8));
    const end = off + Number(elf.readBigUInt64LE(ph + 0x20));
    while (off + 12 <= end) {
      const namesz = elf.readUInt32LE(off);
      const descsz = elf.readUInt32LE(off + 4);
      const type = elf.readUInt32LE(off + 8);
      const name = elf.toString('latin1', off + 12, off + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === 18) return true;
      off += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

const align4 = (n: number): number => (n + 3) & ~3;

async function listTree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await listTree(root, p)));
  }
  return out;
}

function runBuf(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(
      `qemu-harness: ${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.toString()}`,
    );
  }
  return r.stdout;
}

function run(cmd: string, args: string[]): string {
  return runBuf(cmd, args).toString('utf8');
}

// ---------------------------------------------------------------------------------------
// QMP client

interface QmpMessage {
  QMP?: unknown;
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  id?: number;
}

/** Minimal QMP client: one command at a time is not required; replies match by id. */
export class Qmp {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeting: ((m: QmpMessage) => void) | undefined;
  private closedError: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('QMP connection closed')));
  }

  /** Connects (retrying while QEMU creates the socket), reads the greeting, negotiates. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((res, rej) => {
          const s = connect(path);
          s.once('connect', () => res(s));
          s.once('error', rej);
        });
        const qmp = new Qmp(sock);
        await withTimeout(
          new Promise<QmpMessage>((res) => (qmp.greeting = res)),
          Math.max(deadline - Date.now(), 1000),
          'QMP greeting',
        );
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw err;
        await sleep(50);
      }
    }
  }

  /** Runs a QMP command; resolves with its `return`, rejects on `error` or timeout. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const p = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(
        `${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`,
      );
    });
    return withTimeout(p, timeoutMs, `QMP ${command}`).finally(() => this.pending.delete(id)) as Promise<T>;
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as QmpMessage;
      if (msg.QMP !== undefined) this.greeting?.(msg);
      if (msg.event !== undefined || msg.id === undefined) continue; // async events are ignored
      const p = this.pending.get(msg.id);
      if (!p) continue;
      if (msg.error) p.reject(new Error(`QMP error ${msg.error.class}: ${msg.error.desc}`));
      else p.resolve(msg.return);
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

// ---------------------------------------------------------------------------------------
// Process bookkeeping: never leave QEMU or temp dirs behind

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

/** On normal worker exit, kill what is still running and remove temp dirs (sync only). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Removes run dirs left by processes that died without cleaning up (e.g. SIGKILL). */
function sweepStale(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(parent, n), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------
// Running a guest

/** One QEMU process: collects the console, finds the markers, serves waitForOutput. */
class GuestProcess implements RunningGuest {
  private serialText = '';
  private beginAt = -1; // index in serialText where the command's output starts
  private cursor = 0; // waitForOutput search start, relative to the command output
  private readonly waiters = new Set<() => void>();
  private exitedFlag = false;
  /** First reason the run failed (timeout, callback error); set before killing. */
  failure: { message: string; cause?: unknown } | undefined;
  bootMs = -1;
  wallMs = -1;
  stderr = '';
  readonly started: Promise<void>;
  readonly exited: Promise<void>;
  private resolveStarted!: () => void;
  private rejectStarted!: (e: Error) => void;

  constructor(
    private readonly child: ChildProcess,
    private readonly nonce: string,
    private readonly t0: number,
  ) {
    this.started = new Promise((res, rej) => {
      this.resolveStarted = res;
      this.rejectStarted = rej;
    });
    this.started.catch(() => undefined);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => this.onSerial(s));
    child.stderr?.on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((res) => {
      child.on('close', () => {
        this.exitedFlag = true;
        this.wallMs = Date.now() - this.t0;
        this.rejectStarted(this.error('guest exited before the command started'));
        for (const w of [...this.waiters]) w();
        res();
      });
      // spawn failure (e.g. qemu missing): 'close' follows 'error' for spawned children.
      child.on(
        'error',
        (err) => (this.failure ??= { message: `cannot run ${QEMU}: ${err.message}`, cause: err }),
      );
    });
  }

  get serial(): string {
    return this.serialText;
  }

  get output(): string {
    if (this.beginAt < 0) return '';
    const out = this.serialText.slice(this.beginAt);
    const end = out.indexOf(`\n${MARK}-EXIT ${this.nonce} `);
    return end >= 0 ? out.slice(0, end) : out;
  }

  /** `GuestResult` fields from the console, or undefined if the exit marker never came. */
  result(): { exitCode: number; stdout: string } | undefined {
    if (this.beginAt < 0) return undefined;
    const m = new RegExp(`\\n${MARK}-EXIT ${this.nonce} (\\d+)\\n`).exec(this.serialText.slice(this.beginAt));
    if (!m) return undefined;
    return { exitCode: Number(m[1]), stdout: this.serialText.slice(this.beginAt, this.beginAt + m.index) };
  }

  waitForOutput(re: RegExp, timeoutMs: number): Promise<string> {
    const rx = new RegExp(re.source, re.flags.replace(/[gy]/g, '')); // no lastIndex state
    return new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const m = rx.exec(this.output.slice(this.cursor));
        if (m) {
          this.cursor += m.index + m[0].length;
          done();
          resolve(m[0]);
        } else if (this.exitedFlag) {
          done();
          reject(this.error(`guest exited before output matched ${re}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.error(`timed out after ${timeoutMs} ms waiting for output ${re}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Records why (first reason wins) and kills QEMU. */
  kill(message: string, cause?: unknown): void {
    this.failure ??= { message, cause };
    if (!this.exitedFlag) this.child.kill('SIGKILL');
  }

  error(message: string, cause?: unknown): GuestError {
    const stderr = this.stderr.trim() ? `\n--- qemu stderr ---\n${this.stderr.trim()}` : '';
    return new GuestError(`${message}${stderr}`, this.serialText, { cause });
  }

  private onSerial(s: string): void {
    this.serialText += s.replace(/\r/g, '');
    if (this.beginAt < 0) {
      const tag = `${MARK}-BEGIN ${this.nonce}\n`;
      const i = this.serialText.indexOf(tag);
      if (i < 0) return;
      this.beginAt = i + tag.length;
      this.bootMs = Date.now() - this.t0;
      this.resolveStarted();
    }
    for (const w of [...this.waiters]) w();
  }
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Script run by `chroot /mnt/host /bin/sh <script>` in the guest (host's /bin/sh). */
function runScript(command: string[], env: Record<string, string>): string {
  const base: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/dev/shm', // the root share is read-only; /dev/shm is a tmpfs in every guest
    TMPDIR: '/dev/shm',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
  };
  const lines = ['# generated by @vmw9/qemu-harness', `cd ${shq(REPO_ROOT)} || exit 125`];
  for (const [k, v] of Object.entries({ ...base, ...env })) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`runGuest: bad env name ${JSON.stringify(k)}`);
    lines.push(`export ${k}=${shq(v)}`);
  }
  lines.push(`exec ${command.map(shq).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Boots a guest, runs `opts.command` in it and returns its output and exit code. */
export async function runGuest(opts: RunGuestOptions): Promise<GuestResult> {
  if (opts.command.length === 0) throw new Error('runGuest: empty command');
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const extra = opts.qemuArgs ?? [];
  const t0 = Date.now();
  const image = await ensureGuestImage();

  installExitHook();
  await mkdir(CACHE_DIR, { recursive: true });
  sweepStale(CACHE_DIR, 'run-');
  sweepStale(tmpdir(), 'vmw9-qmp-');

  // The run dir is on the host, so the guest sees it through the read-only root share.
  const runDir = await mkdtemp(join(CACHE_DIR, `run-${process.pid}-`));
  liveDirs.add(runDir);
  let qmpDir: string | undefined;
  let child: ChildProcess | undefined;
  let qmpP: Promise<Qmp> | undefined;
  try {
    if (/[\s"'\\]/.test(runDir))
      throw new Error(`runGuest: path unusable on a kernel command line: ${runDir}`);
    const nonce = randomBytes(8).toString('hex');
    const script = join(runDir, 'cmd.sh');
    await writeFile(script, runScript(opts.command, opts.env ?? {}));
    await writeFile(join(runDir, 'nonce'), nonce);
    if (opts.ioperm ?? true) await writeFile(join(runDir, 'ioperm'), '');

    const args = [
      '-accel',
      'tcg',
      // -nodefaults: no NIC (no iPXE ROM), no VGA, no default monitor; only our serial.
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
      '-kernel',
      image.kernel,
      '-initrd',
      image.initrd,
      '-append',
      `console=ttyS0 quiet loglevel=0 panic=-1 vmw9.script=${script}`,
      '-virtfs',
      'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    ];
    if (!extra.some((a) => a === '-machine' || a === '-M')) args.push('-machine', opts.machine ?? 'pc');
    if (!extra.includes('-m')) args.push('-m', '1024');
    let sock: string | undefined;
    if (opts.onQmp) {
      // Own short dir in /tmp: unix socket paths are limited to 107 bytes.
      qmpDir = await mkdtemp(join(tmpdir(), `vmw9-qmp-${process.pid}-`));
      liveDirs.add(qmpDir);
      sock = join(qmpDir, 'qmp.sock');
      args.push('-qmp', `unix:${sock},server=on,wait=off`);
    }
    args.push(...extra);

    // setpriv --pdeathsig: QEMU gets SIGKILL if the thread that spawned it dies, which
    // covers a vitest worker being killed (no 'exit' event then).
    const [cmd, argv] = hasCommand('setpriv')
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', QEMU, ...args]]
      : [QEMU, args];
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    liveChildren.add(proc);
    const g = new GuestProcess(proc, nonce, Date.now());
    const timer = setTimeout(
      () => g.kill(`runGuest: timed out after ${timeoutMs} ms (qemu killed)`),
      timeoutMs,
    );

    let callback: Promise<void> | undefined;
    if (opts.onQmp && sock) {
      const onQmp = opts.onQmp;
      const qp = Qmp.connect(sock, Math.min(timeoutMs, 30_000));
      qmpP = qp;
      qp.catch(() => undefined);
      callback = (async () => {
        if (opts.readyMarker) await g.waitForOutput(opts.readyMarker, timeoutMs);
        else await g.started;
        await onQmp(await qp, g);
      })();
      callback.catch((err: unknown) => g.kill(`runGuest: onQmp failed: ${errMsg(err)}`, err));
    }

    await g.exited;
    // The callback may still be settling (its QMP calls fail once QEMU is gone).
    if (callback) {
      await Promise.race([
        callback.catch(() => undefined),
        sleep(Math.max(timeoutMs - (Date.now() - t0), 0)),
      ]);
    }
    clearTimeout(timer);
    if (g.failure) throw g.error(g.failure.message, g.failure.cause);
    const r = g.result();
    if (!r)
      throw g.error(
        `runGuest: qemu exited (code ${proc.exitCode}, signal ${proc.signalCode}) without an exit marker`,
      );
    return { ...r, serial: g.serial, bootMs: g.bootMs, wallMs: g.wallMs };
  } finally {
    if (child) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      liveChildren.delete(child);
    }
    await qmpP?.then((q) => q.close()).catch(() => undefined);
    for (const d of [runDir, qmpDir]) {
      if (!d) continue;
      await rm(d, { recursive: true, force: true });
      liveDirs.delete(d);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms).unref());
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function errMsg(err: unknown): string {
  if (err instanceof GuestError) return err.reason; // its serial tail is added again anyway
  return err instanceof Error ? err.message : String(err);
}

function tail(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

/**
 * Lets a guest reach a Unix socket of this machine over TCP, without any host IP traffic: QEMU
 * user networking (restrict=on) with one guestfwd rule per connection, each handed to a chardev
 * connected to `socketPath` (a guestfwd chardev carries one connection, so `count` of them).
 * The guest connects to `host`:`ports[i]` after running `guestSetup` (brings the NIC up).
 */
export function socketForwards(
  socketPath: string,
  count: number,
  basePort = 5640,
): { qemuArgs: string[]; guestSetup: string; host: string; ports: number[] } {
  const host = '10.0.2.100';
  const ports = Array.from({ length: count }, (_, i) => basePort + i);
  const chardevs = ports.flatMap((_, i) => ['-chardev', `socket,id=fwd${i},path=${socketPath}`]);
  const rules = ports.map((p, i) => `guestfwd=tcp:${host}:${p}-chardev:fwd${i}`).join(',');
  const guestSetup = [
    'ip link set lo up',
    "IF=$(ls /sys/class/net | grep -v '^lo$' | head -n1)",
    'ip link set "$IF" up && ip addr add 10.0.2.15/24 dev "$IF" || echo "network setup failed"',
  ].join('\n');
  return {
    qemuArgs: [
      ...chardevs,
      '-netdev',
      `user,id=n0,restrict=on,${rules}`,
      '-device',
      'virtio-net-pci,netdev=n0',
    ],
    guestSetup,
    host,
    ports,
  };
}

/**
 * A guest shell script that mounts a 9P server with the Linux kernel client once per dialect
 * (`version=` spelling: 9p2000, 9p2000.u, 9p2000.L), the i-th dialect over the i-th of `forward`'s
 * ports, and runs `body` on each mount with $V the dialect and $M the mount point. The body reports
 * through the step helpers, which print `STEP <dialect> <name> ok` or `STEP <dialect> <name> FAIL
 * <why>`: `ok NAME`, `bad NAME WHY`, and `check NAME WANT CMD...` (ok when CMD prints exactly WANT).
 * The mount is step `mount`; a dialect whose mount fails skips its body. `setup` runs once after
 * the network is up; the script ends by printing DONE.
 */
export function v9fsStepScript(
  forward: ReturnType<typeof socketForwards>,
  dialects: readonly string[],
  opts: { setup?: string; body: string },
): string {
  if (forward.ports.length < dialects.length)
    throw new Error(`${dialects.length} dialects need as many forwarded ports, got ${forward.ports.length}`);
  const mountOpts = 'trans=tcp,port=$P,version=$V,uname=root,access=any,dfltuid=0,dfltgid=0';
  return `
ok() { echo "STEP $V $1 ok"; }
bad() { echo "STEP $V $1 FAIL $2"; }
check() { name=$1; want=$2; shift 2; got=$("$@" 2>&1); if [ "$got" = "$want" ]; then ok $name; else bad $name "got [$got] want [$want]"; fi; }
${forward.guestSetup}
${opts.setup ?? ''}
P=${forward.ports[0]}
for V in ${dialects.join(' ')}; do
  M=/dev/shm/m-$V; mkdir -p $M
  if mount -t 9p -o ${mountOpts} ${forward.host} $M; then ok mount; else bad mount "mount failed"; P=$((P+1)); continue; fi
  P=$((P+1))
${opts.body}
done
echo DONE
`;
}
