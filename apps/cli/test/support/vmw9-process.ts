/**
 * For the reliability suite and the soak: `vmw9 serve --host sim` or `vmw9 --host sim agent` as a
 * child process on a socket in a fresh directory (its own XDG_RUNTIME_DIR too), and what
 * /proc says about its memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export type Vmw9Kind = 'serve' | 'agent';

export interface Vmw9Process {
  kind: Vmw9Kind;
  /** The tree's socket path (its dial string is `unix!` + this). */
  sock: string;
  proc: ChildProcess;
  /** Everything it wrote to stderr. */
  log(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

/** The argument list for `kind`, listening on `sock`. */
function args(kind: Vmw9Kind, sock: string): string[] {
  return kind === 'serve'
    ? [bin, 'serve', '--host', 'sim', '--listen', `unix!${sock}`]
    : [bin, '--host', 'sim', 'agent', '--listen', `unix!${sock}`, '--log-format', 'json'];
}

/** The NODE_OPTIONS the agent's systemd unit runs it with ('' if none). */
export function unitNodeOptions(): string {
  const unit = readFileSync(
    fileURLToPath(new URL('../../../../packages/agent/systemd/vmw9-agent.service', import.meta.url)),
    'utf8',
  );
  return /^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)?.[1]?.trim() ?? '';
}

/** Starts it and resolves once it says it serves; `nodeOptions` becomes its NODE_OPTIONS. */
export async function startVmw9(kind: Vmw9Kind, nodeOptions = ''): Promise<Vmw9Process> {
  const dir = mkdtempSync(join(tmpdir(), `vmw9-${kind}-`));
  const sock = join(dir, `${kind}.sock`);
  const proc = spawn(process.execPath, args(kind, sock), {
    env: { ...process.env, XDG_RUNTIME_DIR: dir, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  // The first 64 KiB only: a flood may make it log a line per refused connection.
  proc.stderr!.on('data', (d) => {
    if (err.length < 65536) err += d;
  });
  let exited = false;
  const gone = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      r();
    }),
  );
  // Ready when its stderr names the socket (serve: "is served on", the agent: "serving the vmware tree").
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (err.includes(sock)) resolve();
    };
    proc.stderr!.on('data', check);
    void gone.then(() => reject(new Error(`vmw9 ${kind} exited before serving: ${err}`)));
  });
  return {
    kind,
    sock,
    proc,
    log: () => err,
    alive: () => !exited,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A /proc/PID/status figure in MB (VmRSS now, VmHWM the peak so far). */
export function memMB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for process ${pid}`);
  return Number(m[1]) / 1024;
}
