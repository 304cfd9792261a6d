/**
 * The agent's socket, as `status`, `9p` and `mount` find it when given no address (the one rule is
 * @vmw9/fs/socket's findAgentSocket), and the one sentence that says why no agent answers there.
 */
import { defaultTreeSocket, type FoundSocket, findAgentSocket, SYSTEM_AGENT_SOCKET } from '@vmw9/fs/socket';
import { type DialAddress, DialError, parseDialOrPath } from 'ninep/dial';
import { CliError, Exit } from './exit.js';

/** Why nothing usable is at a socket path; null when a server answers there. */
export function noAgentReason(f: FoundSocket): string | null {
  switch (f.state) {
    case 'live':
      return null;
    case 'absent':
      return `no agent: no socket at ${f.path} (start one with: vmw9 agent)`;
    case 'stale':
      return `no agent: nothing answers at ${f.path}, a stale socket left by an agent that stopped (start one with: vmw9 agent)`;
    case 'denied':
      return `cannot reach ${f.path}: permission denied (the system agent's socket is root's: use sudo)`;
    case 'not-socket':
      return `${f.path} is not a socket`;
  }
}

/** A `--socket` argument: a socket path or a dial string; a malformed one is a usage error. */
export function socketOption(arg: string): DialAddress {
  try {
    return parseDialOrPath(arg);
  } catch (e) {
    if (e instanceof DialError) throw new CliError(`--socket: ${e.message}`, Exit.USAGE);
    throw e;
  }
}

/** The running agent's socket path, or a CliError (exit 1) saying why there is none. */
export async function runningAgentSocket(): Promise<string> {
  const found = await findAgentSocket();
  const reason = noAgentReason(found);
  if (reason) throw new CliError(reason, Exit.FAILED, { socket: found.path, state: found.state });
  return found.path;
}

/** For help texts: where the agent is looked for, for this user. */
export function agentSocketHelp(): string {
  const mine = defaultTreeSocket();
  return mine === SYSTEM_AGENT_SOCKET ? mine : `${mine}, else the system agent's ${SYSTEM_AGENT_SOCKET}`;
}

/** A server that accepts but never answers Tversion is not the agent; not a timing assumption. */
export const AGENT_ANSWER_MS = 5000;

/**
 * The running agent's tree, as a dial string: at `--socket`, or where `vmw9 status` finds it
 * (findAgentSocket); null when none answers and none was named.
 */
export async function agentTree(socket: string | undefined): Promise<string | null> {
  const [{ formatDial }, { unixSocketState }] = await Promise.all([
    import('ninep/dial'),
    import('ninep/runtime'),
  ]);
  if (socket !== undefined) {
    const d = socketOption(socket);
    if (d.net !== 'unix') return formatDial(d);
    const found = { path: d.path, state: await unixSocketState(d.path) };
    const reason = noAgentReason(found);
    if (reason) throw new CliError(reason, Exit.FAILED, { socket: found.path, state: found.state });
    return formatDial(d);
  }
  const found = await findAgentSocket();
  return found.state === 'live' ? formatDial({ net: 'unix', path: found.path }) : null;
}

/**
 * A 9P2000.u client of the running agent's tree (errors carry the tree's text), or a CliError
 * saying why there is none: no agent, or a server that does not answer within AGENT_ANSWER_MS.
 */
export async function connectAgentTree(socket: string | undefined): Promise<import('ninep').NinepClient> {
  const address = await agentTree(socket);
  if (!address) {
    const found = await findAgentSocket();
    throw new CliError(noAgentReason(found) ?? `no agent answers at ${found.path}`, Exit.FAILED, {
      socket: found.path,
      state: found.state,
    });
  }
  const ninep = await import('ninep');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(`${address}: no 9P answer within ${AGENT_ANSWER_MS / 1000} s`, Exit.FAILED)),
      AGENT_ANSWER_MS,
    );
    timer.unref();
  });
  try {
    return await Promise.race([ninep.NinepClient.connect(address, { version: '9P2000.u' }), timeout]);
  } catch (e) {
    if (e instanceof ninep.ConnectError)
      throw new CliError(`no agent: ${e.message}`, Exit.FAILED, { socket: address });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
