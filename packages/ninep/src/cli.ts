/**
 * `ls|read|write|stat|create|rm ADDR PATH`: the `vmw9 9p` subcommand, as a function the CLI app
 * wires in. ADDR is a dial string; write/create take the file's data from stdin.
 */
import type { Readable, Writable } from 'node:stream';
import { type FileInfo, NinepClient } from './client.js';
import { DMDIR } from './constants.js';

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export const NINEP_USAGE = `usage: 9p [--aname NAME] ls|read|write|stat|create|rm ADDR PATH
  ADDR  unix!PATH | tcp!HOST!PORT
  --aname NAME  the tree to attach (default $NINEP_ANAME, else empty); diod needs its export path
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

/** Runs one command; resolves with the exit status (0 ok, 1 failure, 2 usage). */
export async function ninepCommand(args: string[], io: CommandIO): Promise<number> {
  let aname = process.env['NINEP_ANAME'] ?? '';
  const argv = [...args];
  if (argv[0] === '--aname' && argv.length > 1) {
    aname = argv[1]!;
    argv.splice(0, 2);
  }
  const [cmd, addr, path] = argv;
  if (
    !cmd ||
    !addr ||
    path === undefined ||
    argv.length !== 3 ||
    !['ls', 'read', 'write', 'stat', 'create', 'rm'].includes(cmd)
  ) {
    io.stderr.write(NINEP_USAGE);
    return 2;
  }
  let client: NinepClient | undefined;
  try {
    client = await NinepClient.connect(addr, { aname });
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
    io.stderr.write(`9p: ${cmd} ${path}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
