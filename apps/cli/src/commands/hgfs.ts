/**
 * `vmw9 hgfs shares|ls|get|put`: the host's shared folders from the shell, straight over HGFS
 * (no agent needed): a pool of RPCI channels on the chosen --host, several requests in flight
 * (docs/protocol/hgfs.md). Paths are SHARE/PATH. A download goes to a temporary file beside its
 * destination and is renamed into place when complete; an upload likewise goes to a temporary name
 * in the share, renamed over the target at the end: a failed copy leaves the old file as it was.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DirEntry, HgfsAttr, HgfsAttrV2, HgfsClient } from '@vmw9/hgfs';
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';
import { Progress } from '../progress.js';
import { type TraceOptions, traceOption } from '../trace.js';

export interface HgfsCommandOptions extends HostOptions, TraceOptions {
  /** RPCI channels in flight (default the pool's, 4). */
  channels?: string;
}

type Hgfs = typeof import('@vmw9/hgfs');

/** SHARE/PATH as HGFS path components; '' is the root of all shares. */
export function parseSharePath(spec: string, what: string): string[] {
  const parts = spec.split('/').filter((p) => p !== '');
  for (const p of parts)
    if (p === '.' || p === '..')
      throw new CliError(`${what}: "${spec}": . and .. are not allowed in a share path`, Exit.USAGE);
  return parts;
}

function channelsOf(opts: HgfsCommandOptions): number | undefined {
  if (opts.channels === undefined) return undefined;
  const n = Number(opts.channels);
  if (!Number.isInteger(n) || n < 1 || n > 128)
    throw new CliError(`--channels takes 1 to 128, got "${opts.channels}"`, Exit.USAGE);
  return n;
}

/** Opens the host, runs `fn` with an HGFS client over a channel pool, and closes everything. */
async function withHgfs<T>(
  what: string,
  opts: HgfsCommandOptions,
  fn: (client: HgfsClient, h: Hgfs) => Promise<T>,
  /** What errors about a temporary file name show instead: the user's target (set as it is known). */
  shown: { path: string } = { path: '' },
): Promise<T> {
  const channels = channelsOf(opts);
  const [h, rpcMod] = await Promise.all([import('@vmw9/hgfs'), import('@vmw9/rpc')]);
  const { port } = await openHost(opts);
  const trace = traceOption(opts, rpcMod);
  const rpc = rpcMod.RpciClient.overPort(port, trace);
  const transport = new rpcMod.HgfsTransport(port, rpc, {
    ...trace,
    ...(channels === undefined ? {} : { channels }),
  });
  try {
    return await fn(transport.client, h);
  } catch (e) {
    throw explain(what, e, h, shown.path);
  } finally {
    await transport.close().catch(() => undefined);
    await rpc.close().catch(() => undefined);
    await port.close?.();
  }
}

/** The name a copy is written under until it is complete (hidden, and unique per copy). */
function temporaryName(name: string): string {
  return `.${name}.vmw9-${randomBytes(4).toString('hex')}`;
}
function isTemporary(name: string): boolean {
  return /^\..*\.vmw9-[0-9a-f]{8}$/.test(name);
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EROFS: 'read-only share',
  ENAMETOOLONG: 'name too long',
  ENOSPC: 'no space left on the host',
  EINVAL: 'invalid argument',
};

/** A failure as one line a user can act on, with the HGFS detail after it. */
function explain(what: string, e: unknown, h: Hgfs, shownAs = ''): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof h.HgfsStatusError) {
    const shown = e.path ? (e.path.some(isTemporary) ? shownAs : e.path.join('/')) : undefined;
    const path = shown === undefined ? '' : `${shown || '(the share list)'}: `;
    const text = ERRNO_TEXT[e.code] ?? e.code;
    return new CliError(`${what}: ${path}${text} (HGFS ${e.opName}: ${e.statusName})`, Exit.FAILED);
  }
  if (e instanceof h.HgfsTransportError)
    return new CliError(
      `${what}: the host answered no shared-folder request (${e.message}); are shared folders enabled for this VM?`,
      Exit.FAILED,
    );
  if (e instanceof h.HgfsError)
    return new CliError(`${what}: the host sent a malformed HGFS reply: ${e.message}`, Exit.FAILED);
  return new CliError(`${what}: ${(e as Error).message}`, Exit.FAILED);
}

/** `vmw9 hgfs shares`: the host's shared folders, one per line. */
export async function hgfsSharesCommand(o: Output, opts: HgfsCommandOptions): Promise<number> {
  return withHgfs('hgfs shares', opts, async (client, h) => {
    const shares = await client.listShares();
    if (o.json)
      printJson(
        o,
        shares.map((s) => entryJson(s, h)),
      );
    else for (const s of shares) o.out(`${printable(s.name)}${writable(s.attr, h) ? '' : '  (read-only)'}`);
    return Exit.OK;
  });
}

/** `vmw9 hgfs ls [SHARE[/PATH]]`: a directory as `ls -l` shows one (a file: its own line). */
export async function hgfsLsCommand(
  o: Output,
  spec: string | undefined,
  opts: HgfsCommandOptions,
): Promise<number> {
  const path = parseSharePath(spec ?? '', 'hgfs ls');
  return withHgfs('hgfs ls', opts, async (client, h) => {
    let entries: Array<DirEntry & { target?: string }>;
    if (path.length === 0) entries = await client.listShares();
    else {
      const attr = await client.getattr(path);
      if (attr.type === h.HgfsFileType.DIRECTORY) {
        entries = await client.listDir(path);
        // The listing has every attribute but a link's target: one GETATTR for each link.
        await Promise.all(
          entries.map(async (e) => {
            if (e.attr.type === h.HgfsFileType.SYMLINK)
              (e as { target?: string }).target = await client.readlink([...path, e.name]).catch(() => '?');
          }),
        );
      } else entries = [{ name: path[path.length - 1]!, attr, target: (attr as HgfsAttr).symlinkTarget }];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (o.json)
      printJson(
        o,
        entries.map((e) => entryJson(e, h)),
      );
    else for (const e of entries) o.out(lsLine(e, h));
    return Exit.OK;
  });
}

/** `vmw9 hgfs get SHARE/PATH [LOCAL]`: copies a host file here (LOCAL `-` is standard output). */
export async function hgfsGetCommand(
  o: Output,
  spec: string,
  local: string | undefined,
  opts: HgfsCommandOptions,
): Promise<number> {
  const path = parseSharePath(spec, 'hgfs get');
  if (path.length < 2) throw new CliError('hgfs get takes SHARE/PATH, a file inside a share', Exit.USAGE);
  const toStdout = local === '-';
  let dest = local ?? basename(path[path.length - 1]!);
  if (!toStdout && isDir(dest)) dest = join(dest, path[path.length - 1]!);
  return withHgfs('hgfs get', opts, async (client, h) => {
    const started = Date.now();
    const attr = await client.getattr(path);
    if (attr.type === h.HgfsFileType.DIRECTORY)
      throw new CliError(`hgfs get: ${spec} is a directory (get copies one file)`, Exit.USAGE);
    const temp = toStdout ? undefined : join(dirname(dest), temporaryName(basename(dest)));
    // The local file first: one that cannot be made is named as the user gave it, and no host
    // handle is left open by the failure.
    let fd = -1;
    if (temp !== undefined) {
      try {
        // Made as cp makes a file: 0666 less the umask.
        fd = openSync(temp, 'wx', 0o666);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = (code && ERRNO_TEXT[code]) ?? (e as Error).message;
        throw new CliError(`hgfs get: ${dest}: ${why}`, Exit.FAILED);
      }
    }
    let file: number;
    try {
      file = await client.open(path, { mode: h.HgfsOpenMode.READ_ONLY, flags: h.HgfsOpenFlags.OPEN });
    } catch (e) {
      if (temp !== undefined) {
        closeSync(fd);
        rmSync(temp, { force: true });
      }
      throw e;
    }
    const progress = Progress.forTerminal(spec, Number(attr.size), o.json || toStdout);
    let bytes = 0;
    try {
      const step = client.readChunk * 8;
      for (;;) {
        const data = await client.read(file, BigInt(bytes), step);
        if (temp === undefined) await writeStdout(data);
        else for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
        bytes += data.length;
        progress.add(data.length);
        if (data.length < step) break;
      }
      if (temp !== undefined) {
        const closing = fd;
        fd = -1;
        closeSync(closing);
        renameSync(temp, dest);
      }
    } catch (e) {
      if (temp !== undefined) {
        if (fd >= 0) closeSync(fd);
        rmSync(temp, { force: true });
      }
      throw e;
    } finally {
      progress.finish();
      await client.close(file).catch(() => undefined);
    }
    if (o.json) printJson(o, { path: spec, local: toStdout ? '-' : dest, bytes, ms: Date.now() - started });
    return Exit.OK;
  });
}

/** `vmw9 hgfs put LOCAL SHARE/PATH`: copies a file (LOCAL `-`: standard input) into a share. */
export async function hgfsPutCommand(
  o: Output,
  local: string,
  spec: string,
  opts: HgfsCommandOptions,
): Promise<number> {
  let path = parseSharePath(spec, 'hgfs put');
  if (path.length < 1) throw new CliError('hgfs put takes LOCAL SHARE/PATH', Exit.USAGE);
  const fromStdin = local === '-';
  let total: number | undefined;
  let mode = 0o644;
  if (!fromStdin) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(local);
    } catch (e) {
      throw new CliError(`hgfs put: ${local}: ${(e as Error).message}`, Exit.FAILED);
    }
    if (!st.isFile()) throw new CliError(`hgfs put: ${local} is not a regular file`, Exit.USAGE);
    total = st.size;
    mode = st.mode & 0o7777;
  } else {
    const st = fstatSync(0);
    if (st.isFile()) total = st.size;
  }
  const shown = { path: path.join('/') };
  return withHgfs(
    'hgfs put',
    opts,
    async (client, h) => {
      const started = Date.now();
      // SHARE alone, SHARE/DIR/ or an existing directory: the file keeps its own name there.
      const target = await client.getattr(path).catch(() => undefined);
      if (path.length === 1 || spec.endsWith('/') || target?.type === h.HgfsFileType.DIRECTORY) {
        if (fromStdin) throw new CliError('hgfs put -: name the file, SHARE/PATH/NAME', Exit.USAGE);
        path = [...path, basename(local)];
      }
      const name = path[path.length - 1]!;
      shown.path = path.join('/');
      const tempPath = [...path.slice(0, -1), temporaryName(name)];
      const file = await client.open(tempPath, {
        mode: h.HgfsOpenMode.WRITE_ONLY,
        flags: h.HgfsOpenFlags.OPEN_CREATE_SAFE,
        permissions: mode,
      });
      const progress = Progress.forTerminal(path.join('/'), total, o.json);
      let bytes = 0;
      let closed = false;
      try {
        const input: AsyncIterable<Buffer> = fromStdin
          ? process.stdin
          : createReadStream(local, { highWaterMark: client.writeChunk * 8 });
        for await (const chunk of batches(input, client.writeChunk * 8)) {
          const n = await client.write(file, BigInt(bytes), chunk);
          if (n !== chunk.length)
            throw new CliError(
              `hgfs put: the host wrote ${n} of ${chunk.length} bytes (is it full?)`,
              Exit.FAILED,
            );
          bytes += n;
          progress.add(n);
        }
        await client.close(file);
        closed = true;
        await client.rename(tempPath, path);
      } catch (e) {
        if (!closed) await client.close(file).catch(() => undefined);
        await client.removeFile(tempPath).catch(() => undefined);
        throw e;
      } finally {
        progress.finish();
      }
      if (o.json) printJson(o, { local, path: path.join('/'), bytes, ms: Date.now() - started });
      return Exit.OK;
    },
    shown,
  );
}

/** Writes to standard output, waiting while it is full (a pipe is non-blocking: no writeSync). */
function writeStdout(data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (e) => (e ? reject(e) : resolve()));
  });
}

/** Input regrouped into pieces of `size` bytes (the last may be shorter): few, full HGFS writes. */
async function* batches(input: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let n = 0;
  for await (const b of input) {
    held.push(b);
    n += b.length;
    while (n >= size) {
      const all = Buffer.concat(held, n);
      yield all.subarray(0, size);
      held = [all.subarray(size)];
      n -= size;
    }
  }
  if (n > 0) yield Buffer.concat(held, n);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether the share lets us write: its root's effective permissions when the host gives them. */
function writable(a: HgfsAttrV2, h: Hgfs): boolean {
  if (a.mask & h.HgfsAttrValid.EFFECTIVE_PERMS) return (a.effectivePerms & h.HgfsPermission.WRITE) !== 0;
  return ((a.ownerPerms | a.groupPerms | a.otherPerms) & h.HgfsPermission.WRITE) !== 0;
}

const TYPE_CHAR = ['-', 'd', 'l'];

/** ls -l's mode column, from the permission bits @vmw9/hgfs reads off the attributes. */
function modeString(a: HgfsAttrV2, h: Hgfs): string {
  const mode = h.modeFromAttr(a);
  const rwx = (p: number) => `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`;
  return `${TYPE_CHAR[a.type] ?? '?'}${rwx(mode >> 6)}${rwx(mode >> 3)}${rwx(mode)}`;
}

function lsLine(e: DirEntry & { target?: string }, h: Hgfs): string {
  const a = e.attr;
  const when = h.ntTimeToDate(a.writeTime).toISOString().slice(0, 16).replace('T', ' ');
  const link = e.target ? ` -> ${printable(e.target)}` : '';
  return `${modeString(a, h)} ${String(a.size).padStart(12)} ${when} ${printable(e.name)}${link}`;
}

/**
 * A name from the host as a line of text may show it: control characters become `?`, as ls(1)
 * shows them on a terminal, so a hostile name cannot drive the terminal. --json keeps it exact.
 */
function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/gu, '?');
}

function entryJson(e: DirEntry & { target?: string }, h: Hgfs): Record<string, unknown> {
  const a = e.attr;
  return {
    name: e.name,
    type: ['file', 'directory', 'symlink'][a.type] ?? `type ${a.type}`,
    size: Number(a.size),
    mode: `0${(h.modeFromAttr(a) & 0o7777).toString(8)}`,
    mtime: h.ntTimeToDate(a.writeTime).toISOString(),
    ...(e.target ? { target: e.target } : {}),
  };
}
