/** Starts diod (the reference 9P2000.L server) exporting a fresh tmpfs directory on a Unix socket. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface Diod {
  /** A Unix socket path, or `tcp!127.0.0.1!PORT` when started with a TCP port. */
  sock: string;
  /** The exported directory (on /dev/shm, a tmpfs); also the aname to attach. */
  export: string;
  stop(): Promise<void>;
}

export function requireCommand(cmd: string): void {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    throw new Error(
      `${cmd} is not installed: run packages/ninep/install-deps.sh as root (apt-get install diod)`,
    );
  }
}

/** `tcpPort`: listen on 127.0.0.1:PORT instead of a Unix socket (the smoke check's setup). */
export async function startDiod(threads = 16, tcpPort?: number): Promise<Diod> {
  requireCommand('diod');
  const dir = mkdtempSync('/dev/shm/ninep-diod-');
  const exp = join(dir, 'export');
  spawnSync('mkdir', ['-p', exp]);
  const sock = tcpPort === undefined ? join(dir, 'diod.sock') : `127.0.0.1:${tcpPort}`;
  // Something else already answering on the port would pass for diod below.
  if (tcpPort !== undefined && (await canConnect(tcpPort))) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`port ${tcpPort} is already in use`);
  }
  // -f foreground, -n no auth, -N no user db (runs as us), -l listen, -e export, -t worker threads.
  // cwd = the temp dir: diod 1.0.24 raises its own core limit and can dump core when stopped in the
  // middle of a session; the dump then goes away with the directory, not into the checkout.
  const args = ['-f', '-n', '-N', '-t', String(threads), '-l', sock, '-e', exp];
  const p: ChildProcess = spawn('diod', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr?.on('data', (d) => (err += d));
  const ready = () => (tcpPort === undefined ? Promise.resolve(existsSync(sock)) : canConnect(tcpPort));
  for (let i = 0; i < 100 && !(await ready()); i++) {
    if (p.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await ready())) {
    p.kill('SIGKILL');
    throw new Error(`diod did not start: ${err}`);
  }
  return {
    sock: tcpPort === undefined ? sock : `tcp!127.0.0.1!${tcpPort}`,
    export: exp,
    stop: async () => {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
