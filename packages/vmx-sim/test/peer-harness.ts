/**
 * Running unmodified open-vm-tools programs against a VmxHost served from the test process
 * (docs/testing.md §4, §6): vmx-trap with a VMware CPUID, and for the desktop tools their own
 * Xvfb display. Every process started here is killed by its pid when the harness stops.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TRAP = fileURLToPath(new URL('../../vmx-sim-linux-x64/vmx-trap', import.meta.url));
export const DNDCP_PLUGIN = '/usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/vmusr/libdndcp.so';
export const HGFS_PLUGIN = '/usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/common/libhgfsServer.so';
/** The vmw9 command (apps/cli), built by `pnpm build`: `vmw9 agent` is the guest agent. */
export const VMW9_CLI = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));

export const which = (cmd: string): boolean =>
  (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));

/** Why a peer suite cannot run here (undefined: it can), from [what, present] pairs. */
export function skipReason(needs: Array<[string, boolean]>): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'not Linux x86-64';
  const missing = needs.filter(([, ok]) => !ok).map(([what]) => what);
  return missing.length
    ? `missing ${missing.join(', ')}; packages/vmx-sim/install-deps.sh installs them`
    : undefined;
}

export const running = (p: ChildProcess | undefined): p is ChildProcess =>
  p !== undefined && p.exitCode === null && p.signalCode === null;

/** Polls `check` every 50 ms until it gives something truthy; fails after `timeoutMs` (a hang guard only). */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Processes started for one suite, stopped together (by pid, never by name). */
export class Peers {
  private readonly children: ChildProcess[] = [];
  readonly logs = new Map<ChildProcess, string>();
  private readonly onExit = () => this.kill();

  constructor() {
    process.once('exit', this.onExit);
  }

  /** Starts Xvfb on a display it picks itself; resolves with `:N` once it accepts clients. */
  async xvfb(): Promise<string> {
    const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    this.children.push(x);
    let fd3 = '';
    x.stdio[3]!.on('data', (d: Buffer) => (fd3 += d));
    return `:${(await until('Xvfb to give its display', () => /^\d+\n/.exec(fd3)?.[0], 30_000)).trim()}`;
  }

  /** `argv` under vmx-trap against the host socket `sock`, its output collected. */
  trapped(sock: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return this.spawn(TRAP, ['--host', `unix!${sock}`, '--cpuid', 'vmware', '-q', '--', ...argv], env);
  }

  /** A program, its output collected. */
  spawn(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(cmd, argv, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    this.logs.set(child, '');
    const add = (d: Buffer) => this.logs.set(child, (this.logs.get(child) ?? '') + d);
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    return child;
  }

  /** The last `n` characters a trapped program printed. */
  tail(child: ChildProcess, n = 400): string {
    return (this.logs.get(child) ?? '').slice(-n);
  }

  /** SIGTERM, up to 5 s to exit, then SIGKILL; for every process started here. */
  async stop(): Promise<void> {
    for (const c of this.children.filter(running)) {
      c.kill('SIGTERM');
      await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    }
    this.kill();
    process.off('exit', this.onExit);
  }

  private kill(): void {
    for (const c of this.children) if (running(c)) c.kill('SIGKILL');
  }
}
