/**
 * The one home of the tree's default address, and of how a client finds a running agent. Loads
 * only Node and ninep's runtime helpers (exported alone as `@vmw9/fs/socket`), so `vmw9 status`,
 * `vmw9 9p` and `vmw9 mount` find the socket without loading the tree.
 *
 * The default socket is `vmware.sock` in the `vmw9` runtime directory: `$XDG_RUNTIME_DIR/vmw9`
 * when that is set; else `/run/vmw9` for root (what the systemd unit's RuntimeDirectory=vmw9
 * makes); else `<tmpdir>/vmw9-<uid>`. Every server of the tree (`vmw9 agent`, `vmw9 serve`) listens
 * there unless told otherwise, and every client looks there first.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensurePrivateDir, runtimeDirPath, type SocketState, unixSocketState } from 'ninep/runtime';

/** The socket's file name in its runtime directory. */
const SOCKET_NAME = 'vmware.sock';

/** The system agent's socket: root's default, where the systemd unit's agent listens. */
export const SYSTEM_AGENT_SOCKET = join('/run', 'vmw9', SOCKET_NAME);

/** Who is asking: the environment and user id, and where the system agent is (injected by tests). */
export interface SocketContext {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  systemSocket?: string;
}

/** vmw9's runtime directory for this user, by name only (nothing is created). */
export function vmw9RuntimeDir(ctx: SocketContext = {}): string {
  const env = ctx.env ?? process.env;
  const uid = ctx.uid ?? process.getuid?.();
  const system = dirname(SYSTEM_AGENT_SOCKET);
  // /run is Linux's (and systemd's); a root without it (another Unix) gets the tmpdir form.
  if (!env['XDG_RUNTIME_DIR'] && uid === 0 && existsSync(dirname(system))) return system;
  return runtimeDirPath('vmw9', env, uid);
}

/** The default socket path for this user (nothing is created). */
export function defaultTreeSocket(ctx: SocketContext = {}): string {
  return join(vmw9RuntimeDir(ctx), SOCKET_NAME);
}

/** The default socket, its private directory made (0700, ours) so a server can listen there. */
export function prepareDefaultTreeSocket(ctx: SocketContext = {}): string {
  const path = defaultTreeSocket(ctx);
  ensurePrivateDir(dirname(path));
  return path;
}

export interface FoundSocket {
  path: string;
  state: SocketState;
}

/**
 * Under sudo, the sockets of the user who ran it: the agent they started has the default of their
 * login session (`/run/user/UID`, what pam_systemd sets XDG_RUNTIME_DIR to) or of their uid.
 */
function sudoUserSockets(ctx: SocketContext): string[] {
  const env = ctx.env ?? process.env;
  const uid = ctx.uid ?? process.getuid?.();
  const sudoUid = env['SUDO_UID'];
  if (uid !== 0 || !sudoUid || !/^\d+$/.test(sudoUid) || sudoUid === '0') return [];
  const n = Number(sudoUid);
  return [
    defaultTreeSocket({ env: { XDG_RUNTIME_DIR: join('/run', 'user', sudoUid) }, uid: n }),
    defaultTreeSocket({ env: {}, uid: n }),
  ];
}

/**
 * Where a client finds the agent: the first of these a server answers on: the default socket;
 * the system agent's (so `sudo vmw9 status` from a login shell, whose XDG_RUNTIME_DIR names
 * another directory or none, finds the systemd agent); under sudo, the invoking user's. When none
 * answers, the first that is there at all (stale, or not ours to open), else the default, with
 * what is (not) there, so the caller can say why nothing answers.
 */
export async function findAgentSocket(ctx: SocketContext = {}): Promise<FoundSocket> {
  const candidates = new Set([
    defaultTreeSocket(ctx),
    ctx.systemSocket ?? SYSTEM_AGENT_SOCKET,
    ...sudoUserSockets(ctx),
  ]);
  const seen: FoundSocket[] = [];
  for (const path of candidates) {
    const state = await unixSocketState(path);
    if (state === 'live') return { path, state };
    seen.push({ path, state });
  }
  return seen.find((f) => f.state !== 'absent') ?? seen[0]!;
}
