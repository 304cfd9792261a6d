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
