/**
 * `vmw9 mount`: mounts the agent's tree at /mnt/vmware through the Linux kernel's 9P client over
 * the agent's Unix socket (trans=unix, 9P2000.L). Needs root and a kernel with 9p; says which is
 * missing otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { TREE_MSIZE } from '@vmw9/fs';
import { socketOption } from '../agent-socket.js';
import { CliError, Exit } from '../exit.js';
import type { Output } from '../output.js';

export interface MountOptions {
  socket: string;
  dir?: string;
  dryRun?: boolean;
}

/** The mount(8) invocation for a 9P tree on a Unix socket. */
export function mountArgs(socket: string, dir: string): string[] {
  // access=any: the tree does its own checks; cache=none: every read reaches the host service;
  // msize: the most the tree grants.
  return [
    '-t',
    '9p',
    '-o',
    `trans=unix,version=9p2000.L,access=any,cache=none,msize=${TREE_MSIZE}`,
    socket,
    dir,
  ];
}

/** Whether this kernel knows the 9p file system (loading the module if needed). */
export function kernelHas9p(): boolean {
  const has = () => /\t9p$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  try {
    if (has()) return true;
    spawnSync('modprobe', ['9p'], { stdio: 'ignore' });
    return has();
  } catch {
    return false;
  }
}

/** --socket is a path; `unix!PATH`, the form the agent prints, names the same socket. */
function socketPath(arg: string): string {
  const a = socketOption(arg);
  if (a.net !== 'unix')
    throw new CliError(`--socket must be a Unix socket (PATH or unix!PATH), got "${arg}"`, Exit.USAGE);
  return a.path;
}

export function mountCommand(o: Output, opts: MountOptions): number {
  const socket = socketPath(opts.socket);
  const dir = opts.dir ?? '/mnt/vmware';
  if (!existsSync(socket) || !lstatSync(socket).isSocket()) {
    throw new CliError(
      `${socket} is not a socket: start the agent first (vmw9 agent) or give --socket PATH`,
      Exit.FAILED,
    );
  }
  const args = mountArgs(socket, dir);
  if (opts.dryRun) {
    if (o.json) o.out(JSON.stringify({ command: ['mount', ...args], socket, dir }));
    else o.out(`mount ${args.join(' ')}`);
    return Exit.OK;
  }
  if (process.platform !== 'linux')
    throw new CliError(
      'mounting with the kernel is for Linux; elsewhere use vmw9 9p, or plan9port: 9p -a unix!SOCKET ls',
      Exit.FAILED,
    );
  if (!kernelHas9p())
    throw new CliError(
      'this kernel has no 9p file system (modprobe 9p failed); use vmw9 9p, or a 9P client such as plan9port',
      Exit.FAILED,
    );
  if (process.getuid?.() !== 0) throw new CliError('mounting needs root (sudo vmw9 mount)', Exit.FAILED);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new CliError(`mount failed: ${(r.stderr || r.error?.message || '').trim()}`, Exit.FAILED);
  if (o.json) o.out(JSON.stringify({ mounted: dir, socket }));
  else o.out(`mounted the VMware tree at ${dir}`);
  return Exit.OK;
}
