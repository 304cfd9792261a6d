/**
 * `vmw9 hgfs`: the host's shared folders without the tree: `shares`, `ls [SHARE[/PATH]]`,
 * `get SHARE/PATH [LOCAL]`, `put LOCAL SHARE/PATH`, over HGFS on a pool of RPCI channels
 * (@vmw9/rpc HgfsTransport, docs/protocol/hgfs.md). Transfers show a progress bar on standard
 * error when it is a terminal and the transfer takes over a second; otherwise they are quiet.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { DirEntry, HgfsAttrV2, HgfsClient } from '@vmw9/hgfs';
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';
import { type TraceOptions, traceOption } from '../trace.js';

export type HgfsCommandOptions = HostOptions & TraceOptions;

/** Bytes asked of the host (or sent) per step of a transfer: the client splits them into packets. */
const STEP = 4 * 1024 * 1024;

async function withHgfs<T>(
  opts: HgfsCommandOptions,
  fn: (client: HgfsClient, hgfs: typeof import('@vmw9/hgfs')) => Promise<T>,
): Promise<T> {
  const [rpcMod, hgfs] = await Promise.all([import('@vmw9/rpc'), import('@vmw9/hgfs')]);
  const { port } = await openHost(opts);
  const trace = traceOption(opts, rpcMod);
  const rpc = rpcMod.RpciClient.overPort(port, trace);
  const transport = new rpcMod.HgfsTransport(port, rpc, trace);
  try {
    return await fn(transport.client, hgfs);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof hgfs.HgfsError) throw new CliError(`vmw9 hgfs: ${e.message}`, Exit.FAILED);
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await transport.close().catch(() => undefined);
    await rpc.close().catch(() => undefined);
    await port.close?.();
  }
}

/** `SHARE/dir/file` (leading and doubled slashes ignored) as HGFS path components; '' is the root. */
export function hgfsPath(text: string): string[] {
  const parts = text.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new CliError(`"..": a shared-folder path names a place inside a share`, Exit.USAGE);
  return parts;
}

const TYPE_CHAR = ['-', 'd', 'l'];

function modeText(a: HgfsAttrV2): string {
  const perms = (a.ownerPerms << 6) | (a.groupPerms << 3) | a.otherPerms;
  let s = TYPE_CHAR[a.type] ?? '?';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const p = (perms >> shift) & 7;
    s += `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`;
  }
  return s;
}

function entryJson(e: DirEntry, hgfs: typeof import('@vmw9/hgfs')) {
  return {
    name: e.name,
    type: (['file', 'directory', 'symlink'] as const)[e.attr.type] ?? `type ${e.attr.type}`,
    size: Number(e.attr.size),
    mode: modeText(e.attr),
    mtime: hgfs.ntTimeToDate(e.attr.writeTime).toISOString(),
  };
}

function entryLine(e: DirEntry, hgfs: typeof import('@vmw9/hgfs')): string {
  const j = entryJson(e, hgfs);
  return `${j.mode} ${String(j.size).padStart(12)} ${j.mtime.slice(0, 16).replace('T', ' ')} ${e.name}`;
}

/** Whether the share lets us write (its root's effective permissions, when the host gives them). */
function writable(a: HgfsAttrV2, hgfs: typeof import('@vmw9/hgfs')): boolean {
  if (a.mask & hgfs.HgfsAttrValid.EFFECTIVE_PERMS)
    return (a.effectivePerms & hgfs.HgfsPermission.WRITE) !== 0;
  return ((a.ownerPerms | a.groupPerms | a.otherPerms) & hgfs.HgfsPermission.WRITE) !== 0;
}

export async function hgfsSharesCommand(o: Output, opts: HgfsCommandOptions): Promise<number> {
  return withHgfs(opts, async (client, hgfs) => {
    const shares = (await client.listShares()).map((e) => ({
      name: e.name,
      writable: writable(e.attr, hgfs),
    }));
    if (o.json) printJson(o, shares);
    else for (const s of shares) o.out(`${s.name}\t${s.writable ? 'rw' : 'ro'}`);
    return Exit.OK;
  });
}

export async function hgfsLsCommand(
  o: Output,
  target: string | undefined,
  opts: HgfsCommandOptions,
): Promise<number> {
  const path = hgfsPath(target ?? '');
  return withHgfs(opts, async (client, hgfs) => {
    let entries: DirEntry[];
    if (path.length === 0) entries = await client.listShares();
    else {
      const attr = await client.getattr(path);
      entries =
        attr.type === hgfs.HgfsFileType.DIRECTORY
          ? await client.listDir(path)
          : [{ name: path[path.length - 1]!, attr }];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (o.json)
      printJson(
        o,
        entries.map((e) => entryJson(e, hgfs)),
      );
    else for (const e of entries) o.out(entryLine(e, hgfs));
    return Exit.OK;
  });
}

/** A transfer's progress on a terminal: shown once it has taken a second, redrawn 10 times a second. */
class Progress {
  private readonly start = Date.now();
  private done = 0;
  private shown = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly tty: NodeJS.WriteStream | undefined,
  ) {
    if (tty) this.timer = setInterval(() => this.draw(), 100);
  }
  add(n: number): void {
    this.done += n;
  }
  private draw(): void {
    const seconds = (Date.now() - this.start) / 1000;
    if (!this.tty || seconds < 1) return;
    this.shown = true;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const rate = `${mib(this.done / seconds)}/s`;
    const width = 30;
    const of = this.total ? ` / ${mib(this.total)}` : '';
    const bar = this.total
      ? `[${'#'.repeat(Math.round((width * this.done) / this.total)).padEnd(width)}] ${Math.floor((100 * this.done) / this.total)}% `
      : '';
    this.tty.write(`\r${this.label} ${bar}${mib(this.done)}${of} ${rate}\x1b[K`);
  }
  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.shown) this.tty?.write('\r\x1b[K');
  }
}

const terminal = (o: Output) => (!o.json && process.stderr.isTTY ? process.stderr : undefined);

function finish(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(resolve);
  });
}

function write(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (e) => (e ? reject(e) : resolve()));
  });
}

export async function hgfsGetCommand(
  o: Output,
  source: string,
  local: string | undefined,
  opts: HgfsCommandOptions,
): Promise<number> {
  const path = hgfsPath(source);
  if (path.length < 2)
    throw new CliError(`get: name a file in a share (SHARE/PATH), got "${source}"`, Exit.USAGE);
  const dest = local ?? basename(path[path.length - 1]!);
  return withHgfs(opts, async (client, hgfs) => {
    const attr = await client.getattr(path);
    if (attr.type === hgfs.HgfsFileType.DIRECTORY)
      throw new CliError(`get: ${source} is a directory (get copies one file)`, Exit.FAILED);
    const t0 = Date.now();
    const handle = await client.open(path, {
      mode: hgfs.HgfsOpenMode.READ_ONLY,
      flags: hgfs.HgfsOpenFlags.OPEN,
    });
    const out: Writable = dest === '-' ? process.stdout : createWriteStream(dest);
    const progress = new Progress(source, Number(attr.size), dest === '-' ? undefined : terminal(o));
    let bytes = 0;
    try {
      for (;;) {
        const data = await client.read(handle, BigInt(bytes), STEP);
        if (data.length === 0) break;
        await write(out, data);
        bytes += data.length;
        progress.add(data.length);
        if (data.length < STEP) break;
      }
    } finally {
      progress.end();
      await client.close(handle).catch(() => undefined);
      if (out !== process.stdout) await finish(out);
    }
    if (o.json) printJson(o, { path: source, local: dest, bytes, ms: Date.now() - t0 });
    return Exit.OK;
  });
}

export async function hgfsPutCommand(
  o: Output,
  local: string,
  target: string,
  opts: HgfsCommandOptions,
): Promise<number> {
  const path = hgfsPath(target);
  if (path.length < 2)
    throw new CliError(`put: name a file in a share (SHARE/PATH), got "${target}"`, Exit.USAGE);
  let size: number | undefined;
  let mode = 0o644;
  if (local !== '-') {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(local);
    } catch (e) {
      throw new CliError(
        `put: ${local}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        Exit.FAILED,
      );
    }
    if (!st.isFile()) throw new CliError(`put: ${local} is not a file`, Exit.FAILED);
    size = st.size;
    mode = st.mode & 0o777;
  }
  return withHgfs(opts, async (client, hgfs) => {
    const t0 = Date.now();
    const handle = await client.open(path, {
      mode: hgfs.HgfsOpenMode.WRITE_ONLY,
      flags: hgfs.HgfsOpenFlags.OPEN_CREATE_EMPTY,
      permissions: mode,
    });
    const input: Readable = local === '-' ? process.stdin : createReadStream(local, { highWaterMark: STEP });
    const progress = new Progress(target, size, terminal(o));
    let bytes = 0;
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        const n = await client.write(handle, BigInt(bytes), chunk);
        if (n !== chunk.length)
          throw new CliError(`put: the host wrote ${n} of ${chunk.length} bytes`, Exit.FAILED);
        bytes += n;
        progress.add(n);
      }
    } finally {
      progress.end();
      await client.close(handle).catch(() => undefined);
    }
    if (o.json) printJson(o, { local, path: target, bytes, ms: Date.now() - t0 });
    return Exit.OK;
  });
}
