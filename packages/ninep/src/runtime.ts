/**
 * Where servers put their Unix sockets, and what a socket file is: the private runtime directory
 * (`$XDG_RUNTIME_DIR/APP`, else `<tmpdir>/APP-<uid>`, mode 0700 and ours) and the probe that tells
 * a live socket from one left by a dead server. Loads only Node's own modules, so a client can ask
 * where a server would be without loading the library (exported alone as `ninep/runtime`).
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { createConnection, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The runtime directory of APP, by name only (nothing is created): `$XDG_RUNTIME_DIR/APP` or `<tmpdir>/APP-<uid>`. */
export function runtimeDirPath(
  app = 'ninep',
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): string {
  const base = env['XDG_RUNTIME_DIR'];
  return base ? join(base, app) : join(tmpdir(), `${app}-${uid ?? 'user'}`);
}

/**
 * Makes `dir` (and its parents) if needed, mode 0700, and checks it is a directory owned by this
 * user: a socket in a directory someone else controls could be swapped under us.
 */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) {
    throw new Error(`runtime directory ${dir} is not a directory owned by this user`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/** `$XDG_RUNTIME_DIR/APP` or `<tmpdir>/APP-<uid>`, created 0700 and checked to be ours. */
export function runtimeDir(app = 'ninep'): string {
  return ensurePrivateDir(runtimeDirPath(app));
}

/**
 * What is at a socket path: `live` (a server accepts), `stale` (a socket file nobody answers: its
 * server died), `absent`, `not-socket` (another kind of file), or `denied` (this user may not look
 * or connect, e.g. root's socket in a 0700 directory).
 */
export type SocketState = 'live' | 'stale' | 'absent' | 'not-socket' | 'denied';

export async function unixSocketState(path: string): Promise<SocketState> {
  try {
    if (!lstatSync(path).isSocket()) return 'not-socket';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'denied' : 'absent';
  }
  return new Promise<SocketState>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve('live');
    });
    s.once('error', (e: NodeJS.ErrnoException) =>
      resolve(
        e.code === 'EACCES' || e.code === 'EPERM' ? 'denied' : e.code === 'ENOENT' ? 'absent' : 'stale',
      ),
    );
  });
}

/**
 * Binds a Unix socket that is never wider than 0600, even for an instant: the socket file is made
 * under a umask of 0177 (bind is synchronous, so no other code runs while the umask is changed),
 * instead of being chmod'ed after listen, when a process could already have connected. A wider
 * mode asked for is applied afterwards.
 */
export function listenPrivately(srv: Server, path: string, done: () => void): void {
  const old = process.umask(0o177);
  try {
    srv.listen(path, done);
  } finally {
    process.umask(old);
  }
}
