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

export const NINEP_USAGE = `usage: 9p [-A|--aname NAME] [-D|--dialect DIALECT] ls|read|write|stat|create|rm ADDR PATH
  ADDR  unix!PATH | tcp!HOST!PORT | a Unix socket's PATH; may be left out where the program has a default
  -A, --aname NAME  the tree to attach (default $NINEP_ANAME, else empty); diod needs its export path
  -D, --dialect DIALECT  9P2000.u (default: its errors carry the server's text), 9P2000.L or 9P2000;
                a server without the one asked for is asked for 9P2000.L, then 9P2000
  ls PATH       list a directory (or show one file), one line per entry
  read PATH     copy a file to stdout
  write PATH    replace a file's contents with stdin (creating it if needed)
  stat PATH     print a file's attributes
  create PATH   create a file with stdin as its contents (a trailing / makes a directory)
  rm PATH       remove a file or an empty directory
`;

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

/**
 * Takes `-A NAME`, `--aname NAME` and `--aname=NAME` anywhere on the line (`--` ends options), as
 * plan9port's 9p takes -A, and `-D`/`--dialect` the same way; returns the remaining words, or null for a malformed option.
 */
function parseOptions(args: string[]): { argv: string[]; aname?: string; dialect: Dialect } | null {
  const argv: string[] = [];
  let aname: string | undefined;
  let dialect: string = DEFAULT_CLI_DIALECT;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      argv.push(...args.slice(i + 1));
      break;
    }
    if (a === '-A' || a === '--aname' || a === '-D' || a === '--dialect') {
      if (i + 1 >= args.length) return null;
      if (a === '-A' || a === '--aname') aname = args[++i]!;
      else dialect = args[++i]!;
    } else if (a.startsWith('--aname=')) aname = a.slice('--aname='.length);
    else if (a.startsWith('--dialect=')) dialect = a.slice('--dialect='.length);
    else if (a.startsWith('-') && a.length > 1) return null;
    else argv.push(a);
  }
  if (!DIALECTS.includes(dialect as Dialect)) return null;
  return { argv, dialect: dialect as Dialect, ...(aname === undefined ? {} : { aname }) };
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

export interface NinepCommandOptions {
  /** The address used when the command names none (`CMD PATH`); without it ADDR is required. */
  defaultAddress?: () => string | Promise<string>;
}

/** Runs one command; resolves with the exit status (0 ok, 1 failure, 2 usage). */
export async function ninepCommand(
  args: string[],
  io: CommandIO,
  opts: NinepCommandOptions = {},
): Promise<number> {
  const parsed = parseOptions(args);
  if (!parsed) {
    io.stderr.write(NINEP_USAGE);
    return 2;
  }
  const { argv } = parsed;
  const aname = parsed.aname ?? process.env['NINEP_ANAME'] ?? '';
  // `CMD PATH`: the caller's default address.
  const [cmd, given, path] = argv.length === 2 && opts.defaultAddress ? [argv[0], null, argv[1]] : argv;
  if (
    !cmd ||
    given === undefined ||
    path === undefined ||
    argv.length > 3 ||
    !['ls', 'read', 'write', 'stat', 'create', 'rm'].includes(cmd)
  ) {
    io.stderr.write(NINEP_USAGE);
    return 2;
  }
  let addr: string;
  try {
    addr = formatDial(parseDialOrPath(given ?? (await opts.defaultAddress?.()) ?? ''));
  } catch (e) {
    // A malformed address is a usage error: one line saying what is wrong with it. A default
    // that cannot be found (no server runs) is the caller's failure, said in its words.
    io.stderr.write(`9p: ${(e as Error).message}\n`);
    return e instanceof DialError ? 2 : 1;
  }
  let client: NinepClient | undefined;
  try {
    client = await NinepClient.connect(addr, { aname, version: parsed.dialect });
    switch (cmd) {
      case 'ls': {
        const info = await client.stat(path);
        const entries = info.mode & DMDIR ? await client.readdir(path) : [info];
        for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) io.stdout.write(`${line(e)}\n`);
        break;
      }
      case 'read':
        io.stdout.write(await client.readFile(path));
        break;
      case 'write':
        await client.writeFile(path, await readAll(io.stdin));
        break;
      case 'stat': {
        const f = await client.stat(path);
        io.stdout.write(
          `${line(f)}\nqid path ${f.qid.path} version ${f.qid.version} type 0x${f.qid.type.toString(16)}  mode 0${(f.mode >>> 0).toString(8)}  dialect ${client.dialect}\n`,
        );
        break;
      }
      case 'create':
        if (path.endsWith('/')) await client.mkdir(path, 0o755);
        else {
          const data = await readAll(io.stdin);
          await client.create(path, 0o644);
          if (data.length > 0) await client.writeFile(path, data);
        }
        break;
      case 'rm':
        await client.remove(path);
        break;
    }
    return 0;
  } catch (e) {
    io.stderr.write(`9p: ${cmd} ${path}: ${(e as Error).message}${attachHint(e, aname)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
