/**
 * `status`, the file an agent adds to the tree (docs/protocol/tree.md §16): what the agent is
 * doing now, one `KEY VALUE…` line per fact, Plan 9 style. This module is the format's one home:
 * the agent writes it with formatAgentStatus and `vmw9 status` reads it with parseAgentStatus.
 */

/** One TCLO app channel of the agent. */
export interface TcloChannelStatus {
  app: string;
  /** `stopped`, `opening`, `open` or `reopening` (after a failure). */
  state: string;
  /** Commands the host sent on it and errors of the channel, since the agent started. */
  commands: number;
  errors: number;
  /** The channel's last failure, if it ever failed. */
  lastError?: string;
  /** The last command the host sent, whether its answer was `OK`, and when. */
  last?: { command: string; ok: boolean; at: Date };
}

export interface AgentStatus {
  /** NAME VERSION, as `version` says it. */
  agent: string;
  pid: number;
  /** The dial string the tree is served on. */
  address?: string;
  /** How the agent reaches the host, as `version`'s `transport` line. */
  transport: string;
  started: Date;
  /** Whole seconds since `started`, when the file was read. */
  uptime: number;
  /** Host resets of the system channel (each makes the agent register again). */
  resets: number;
  tclo: TcloChannelStatus[];
  /** The services running, each with the channel it lives on. */
  services: { name: string; app: string }[];
}

/** A word of the format: blanks and newlines would split a line, so they become `_`. */
const word = (s: string) => s.replace(/\s/g, '_') || '-';
/** The rest of a line: one line whatever the text. */
const rest = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function formatAgentStatus(s: AgentStatus): string {
  const lines = [
    `agent ${rest(s.agent)}`,
    `pid ${s.pid}`,
    ...(s.address ? [`address ${rest(s.address)}`] : []),
    `transport ${rest(s.transport)}`,
    `started ${s.started.toISOString()}`,
    `uptime ${s.uptime}`,
    `resets ${s.resets}`,
  ];
  for (const t of s.tclo) {
    lines.push(`tclo ${word(t.app)} ${word(t.state)} ${t.commands} ${t.errors}`);
    if (t.last)
      lines.push(
        `lastcommand ${word(t.app)} ${word(t.last.command)} ${t.last.ok ? 'ok' : 'error'} ${t.last.at.toISOString()}`,
      );
    if (t.lastError !== undefined) lines.push(`tcloerror ${word(t.app)} ${rest(t.lastError)}`);
  }
  for (const v of s.services) lines.push(`service ${word(v.name)} ${word(v.app)}`);
  return `${lines.join('\n')}\n`;
}

/** Malformed `status` text (not an agent's, or a newer format this reader cannot take). */
export class AgentStatusError extends Error {
  override readonly name = 'AgentStatusError';
}

/** Reads `status` text; unknown lines are skipped (a newer agent may say more). */
export function parseAgentStatus(text: string): AgentStatus {
  const s: Partial<AgentStatus> & Pick<AgentStatus, 'tclo' | 'services'> = { tclo: [], services: [] };
  const channel = (app: string) => s.tclo.find((t) => t.app === app);
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    const w = value.split(' ');
    switch (key) {
      case 'agent':
        s.agent = value;
        break;
      case 'pid':
        s.pid = Number(value);
        break;
      case 'address':
        s.address = value;
        break;
      case 'transport':
        s.transport = value;
        break;
      case 'started':
        s.started = new Date(value);
        break;
      case 'uptime':
        s.uptime = Number(value);
        break;
      case 'resets':
        s.resets = Number(value);
        break;
      case 'tclo':
        s.tclo.push({ app: w[0]!, state: w[1] ?? '', commands: Number(w[2]), errors: Number(w[3]) });
        break;
      case 'lastcommand': {
        const t = channel(w[0]!);
        if (t) t.last = { command: w[1] ?? '', ok: w[2] === 'ok', at: new Date(w[3] ?? '') };
        break;
      }
      case 'tcloerror': {
        const t = channel(w[0]!);
        if (t) t.lastError = w.slice(1).join(' ');
        break;
      }
      case 'service':
        s.services.push({ name: w[0]!, app: w[1] ?? '' });
        break;
    }
  }
  if (s.agent === undefined || s.transport === undefined || s.started === undefined)
    throw new AgentStatusError('not an agent status file (no agent, transport or started line)');
  return {
    pid: Number.NaN,
    uptime: Number.NaN,
    resets: Number.NaN,
    ...s,
  } as AgentStatus;
}
