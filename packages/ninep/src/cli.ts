/**
 * `ls|read|write|stat|create|rm ADDR PATH`: the `vmw9 9p` subcommand, as a function the CLI app
 * wires in. ADDR is a dial string; write/create take the file's data from stdin.
 */
import type { Readable, Writable } from 'node:stream';
import { type FileInfo, NinepClient } from './client.js';
import { DIALECTS, type Dialect, DMDIR } from './constants.js';
import { DialError, formatDial, parseDialOrPath } from './dial.js';
import { RemoteError } from './errors.js';

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** The options and commands, for `vmw9 help 9p` as well as the usage message. */
export const NINEP_HELP = `  ADDR  unix!PATH | tcp!HOST!PORT (a bare path is a Unix socket); may be left out where the program has a default
  -A, --aname NAME  the tree to attach (default $NINEP_ANAME, else empty); diod needs its export path
  -D, --dialect DIALECT  9P2000.u (default: its errors carry the server's text), 9P2000.L or 9P2000;
                a server without the one asked for is asked for 9P2000.L, then 9P2000
  -n, --count N  read: stop after N reads (sample an event file, which never ends)
  --json        print JSON: entries for ls and stat, the data for read, the outcome otherwise
  ls PATH       list a directory (or show one file), one line per entry
  read PATH     copy a file to stdout as it arrives, until end of file (or N reads)
  write PATH    replace a file's contents with stdin (creating it if needed)
  stat PATH     print a file's attributes
  create PATH   create a file with stdin as its contents (empty when stdin is a terminal;
                a trailing / makes a directory)
  rm PATH       remove a file or an empty directory
`;

export const NINEP_USAGE = `usage: 9p [-A NAME] [-D DIALECT] [-n N] [--json] ls|read|write|stat|create|rm ADDR PATH
${NINEP_HELP}`;

const COMMANDS = ['ls', 'read', 'write', 'stat', 'create', 'rm'] as const;
type CommandName = (typeof COMMANDS)[number];

export interface NinepCommandOptions {
  /** Print JSON (vmw9's global --json); `--json` on the command line does the same. */
  json?: boolean;
  /** The address used when the command names none (`CMD PATH`); without it ADDR is required. */
  defaultAddress?: () => string | Promise<string>;
}

function modeString(mode: number): string {
  const rwx = (b: number) => `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  return `${mode & DMDIR ? 'd' : '-'}${rwx(mode >> 6)}${rwx(mode >> 3)}${rwx(mode)}`;
}

function line(f: FileInfo): string {
  return `${modeString(f.mode)} ${f.uid} ${f.gid} ${f.length} ${new Date(f.mtime * 1000).toISOString()} ${f.name}`;
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

/**
 * The command asks for 9P2000.u first: like 9P2000 its errors carry the server's text (.L's carry
 * only an errno), so `unknown control message` reaches the user, not just "Invalid argument".
 */
const DEFAULT_CLI_DIALECT: Dialect = '9P2000.u';

interface ParsedOptions {
  argv: string[];
  aname?: string;
  dialect: Dialect;
  count?: number;
  json: boolean;
}

/**
 * Takes `-A NAME`, `--aname NAME` and `--aname=NAME` anywhere on the line (`--` ends options), as
 * plan9port's 9p takes -A, and `-D`/`--dialect`, `-n`/`--count` and `--json` the same way; returns
 * the remaining words, or the one line that says what is wrong.
 */
function parseOptions(args: string[]): ParsedOptions | string {
  const argv: string[] = [];
  const valued: Record<string, string> = {};
  const names: Record<string, string> = {
    '-A': 'aname',
    '--aname': 'aname',
    '-D': 'dialect',
    '--dialect': 'dialect',
    '-n': 'count',
    '--count': 'count',
  };
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      argv.push(...args.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const name = names[flag];
    if (name) {
      if (eq > 0) valued[name] = a.slice(eq + 1);
      else if (i + 1 < args.length) valued[name] = args[++i]!;
      else return `${a} needs a value`;
    } else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') return { argv: [], dialect: DEFAULT_CLI_DIALECT, json };
    else if (a.startsWith('-') && a.length > 1) return `unknown option ${a}`;
    else argv.push(a);
  }
  const dialect = valued['dialect'] ?? DEFAULT_CLI_DIALECT;
  if (!DIALECTS.includes(dialect as Dialect)) return `unknown dialect "${dialect}" (${DIALECTS.join(', ')})`;
  const parsed: ParsedOptions = { argv, dialect: dialect as Dialect, json };
  if (valued['aname'] !== undefined) parsed.aname = valued['aname'];
  if (valued['count'] !== undefined) {
    const n = valued['count'];
    if (!/^[1-9][0-9]{0,8}$/.test(n)) return `-n takes a count of reads from 1 to 999999999, got "${n}"`;
    parsed.count = Number(n);
  }
  return parsed;
}

/**
 * A refused attach with no tree named is almost always a server that serves named trees only:
 * diod, for one, refuses every aname that is not one of its exports (src/libdiod/diod_exp.c,
 * diod_match_exports), and the Linux client needs `-o aname=` for it too.
 */
function attachHint(e: unknown, aname: string): string {
  if (!(e instanceof RemoteError) || e.request !== 'Tattach' || aname !== '') return '';
  return '\n9p: the server refused an attach with an empty tree name; name its tree with --aname (for diod: the export path)';
}

/** An entry as --json prints it. */
function entryJson(f: FileInfo) {
  return {
    name: f.name,
    mode: modeString(f.mode),
    perm: `0${(f.mode & 0o777).toString(8)}`,
    dir: (f.mode & DMDIR) !== 0,
    uid: f.uid,
    gid: f.gid,
    length: f.length,
    mtime: new Date(f.mtime * 1000).toISOString(),
    qid: { path: String(f.qid.path), version: f.qid.version, type: f.qid.type },
  };
}

/** Bytes as --json prints them: text when they are UTF-8, else base64. */
function dataJson(b: Buffer): { text: string } | { base64: string } {
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? { text } : { base64: b.toString('base64') };
}

/**
 * Copies an open file to `out` read by read, as each arrives (an event file never reaches end of
 * file, so waiting for it would print nothing); stops at end of file or after `count` reads.
 */
async function streamRead(
  client: NinepClient,
  path: string,
  count: number,
  out: (data: Uint8Array) => void,
): Promise<number> {
  const fid = await client.walk(path);
  let reads = 0;
  try {
    await client.open(fid, 'r');
    for (let off = 0; reads < count; ) {
      const d = await client.read(fid, off, client.iounit);
      reads++;
      if (d.length === 0) break;
      out(d);
      off += d.length;
    }
  } finally {
    await client.clunk(fid).catch(() => undefined);
  }
  return reads;
}

/** Runs one command; resolves with the exit status (0 ok, 1 failure, 2 usage). */
export async function ninepCommand(
  args: string[],
  io: CommandIO,
  options: NinepCommandOptions = {},
): Promise<number> {
  const parsed = parseOptions(args);
  const json = options.json === true || (typeof parsed !== 'string' && parsed.json);
  const print = (v: unknown) => io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  /** A usage error: one line saying what is wrong. */
  const usage = (what: string) => {
    if (json) print({ error: what });
    else io.stderr.write(`9p: ${what} (9p with no arguments prints the usage)\n`);
    return 2;
  };
  if (typeof parsed === 'string') return usage(parsed);
  const { argv } = parsed;
  const aname = parsed.aname ?? process.env['NINEP_ANAME'] ?? '';
  // `CMD PATH`: the caller's default address.
  const [cmd, given, path] = argv.length === 2 && options.defaultAddress ? [argv[0], null, argv[1]] : argv;
  if (!cmd) {
    // Asked for (-h) or nothing asked: the whole usage; only the first is a success.
    const asked = args.includes('-h') || args.includes('--help');
    (asked ? io.stdout : io.stderr).write(NINEP_USAGE);
    return asked ? 0 : 2;
  }
  if (!COMMANDS.includes(cmd as CommandName))
    return usage(`unknown command "${cmd}": ls, read, write, stat, create or rm`);
  if (given === undefined || path === undefined || argv.length > 3)
    return usage(`${cmd} takes ${options.defaultAddress ? '[ADDR]' : 'ADDR'} PATH`);
  if (parsed.count !== undefined && cmd !== 'read') return usage('-n is for read');
  let addr: string;
  try {
    addr = formatDial(parseDialOrPath(given ?? (await options.defaultAddress?.()) ?? ''));
  } catch (e) {
    // A malformed address is a usage error: one line saying what is wrong with it. A default
    // that cannot be found (no server runs) is the caller's failure, said in its words.
    if (e instanceof DialError) return usage(e.message);
    if (json) print({ error: (e as Error).message });
    else io.stderr.write(`9p: ${(e as Error).message}\n`);
    return 1;
  }
  let client: NinepClient | undefined;
  try {
    client = await NinepClient.connect(addr, { aname, version: parsed.dialect });
    switch (cmd as CommandName) {
      case 'ls': {
        const info = await client.stat(path);
        const entries = info.mode & DMDIR ? await client.readdir(path) : [info];
        entries.sort((a, b) => a.name.localeCompare(b.name));
        if (json) print(entries.map(entryJson));
        else for (const e of entries) io.stdout.write(`${line(e)}\n`);
        break;
      }
      case 'read': {
        const parts: Uint8Array[] = [];
        const reads = await streamRead(client, path, parsed.count ?? Number.POSITIVE_INFINITY, (d) =>
          json ? parts.push(d) : io.stdout.write(d),
        );
        if (json) print({ path, reads, ...dataJson(Buffer.concat(parts)) });
        break;
      }
      case 'write': {
        const data = await readAll(io.stdin);
        await client.writeFile(path, data);
        if (json) print({ path, written: data.length });
        break;
      }
      case 'stat': {
        const f = await client.stat(path);
        if (json) print({ ...entryJson(f), dialect: client.dialect });
        else
          io.stdout.write(
            `${line(f)}\nqid path ${f.qid.path} version ${f.qid.version} type 0x${f.qid.type.toString(16)}  mode 0${(f.mode >>> 0).toString(8)}  dialect ${client.dialect}\n`,
          );
        break;
      }
      case 'create': {
        let written = 0;
        if (path.endsWith('/')) await client.mkdir(path, 0o755);
        else {
          // On a terminal there is nothing to wait for: the file is made empty, as touch would.
          const data = (io.stdin as { isTTY?: boolean }).isTTY ? Buffer.alloc(0) : await readAll(io.stdin);
          await client.create(path, 0o644);
          if (data.length > 0) await client.writeFile(path, data);
          written = data.length;
        }
        if (json) print({ path, created: true, written });
        break;
      }
      case 'rm':
        await client.remove(path);
        if (json) print({ path, removed: true });
        break;
    }
    return 0;
  } catch (e) {
    const message = `${cmd} ${path}: ${(e as Error).message}${attachHint(e, aname)}`;
    if (json) print({ error: message });
    else io.stderr.write(`9p: ${message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
