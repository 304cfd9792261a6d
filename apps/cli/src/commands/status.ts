/**
 * `vmw9 status`: finds the running agent (the default socket, else the system agent's; or the
 * address given) and reports what its tree says: `status` (the agent's own file:
 * docs/protocol/tree.md §16), `version` (the host) and `stats` (the counters). Exit 1 with one
 * line saying why when no agent answers: no socket, a stale one, or a 9P server that is not the
 * agent (such as `vmw9 serve`: then what it could read is printed first).
 */
import type { AgentStatus, StatField } from '@vmw9/fs';
import { type FoundSocket, findAgentSocket } from '@vmw9/fs/socket';
import type { NinepClient } from 'ninep';
import { formatDial } from 'ninep/dial';
import { unixSocketState } from 'ninep/runtime';
import { noAgentReason, socketOption } from '../agent-socket.js';
import { CliError, Exit } from '../exit.js';
import { type Output, printJson } from '../output.js';

/** A server that accepts but never answers Tversion is not a 9P server; not a timing assumption. */
const ANSWER_TIMEOUT_MS = 5000;

export interface StatusOptions {
  /** The agent's address (dial string or socket path); default: found as findAgentSocket says. */
  socket?: string;
}

/** Where to look, and what is there (a TCP address is not probed: connecting says). */
async function locate(socket: string | undefined): Promise<{ address: string; shown: string }> {
  let found: FoundSocket;
  if (socket === undefined) found = await findAgentSocket();
  else {
    const d = socketOption(socket);
    if (d.net !== 'unix') return { address: formatDial(d), shown: formatDial(d) };
    found = { path: d.path, state: await unixSocketState(d.path) };
  }
  const reason = noAgentReason(found);
  if (reason) throw new CliError(reason, Exit.FAILED, { socket: found.path, state: found.state });
  return { address: formatDial({ net: 'unix', path: found.path }), shown: found.path };
}

/** `KEY REST` lines (the `version` file) as a map of the first line of each key. */
function keyLines(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0 && !m.has(line.slice(0, sp))) m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

/** 75 → `1m 15s`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (!d && !h) parts.push(`${s % 60}s`);
  return parts.join(' ');
}

export async function statusCommand(o: Output, opts: StatusOptions): Promise<number> {
  const { address, shown } = await locate(opts.socket);
  const [ninep, fs] = await Promise.all([import('ninep'), import('@vmw9/fs')]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(`${shown}: no 9P answer within ${ANSWER_TIMEOUT_MS / 1000} s`, Exit.FAILED)),
      ANSWER_TIMEOUT_MS,
    );
    timer.unref();
  });
  let client: NinepClient | undefined;
  try {
    // 9P2000.u: errors carry the server's text.
    client = await Promise.race([ninep.NinepClient.connect(address, { version: '9P2000.u' }), timeout]).catch(
      (e: Error) => {
        if (e instanceof CliError) throw e;
        // Nothing to talk to: a TCP address nobody listens on, or a socket gone since it was found.
        if (e instanceof ninep.ConnectError)
          throw new CliError(`no agent: ${e.message}`, Exit.FAILED, { socket: shown });
        throw new CliError(`${shown} answers, but not as a 9P server: ${e.message}`, Exit.FAILED, {
          socket: shown,
        });
      },
    );
    const c = client;
    const read = (path: string) =>
      Promise.race([c.readFile(path), timeout]).then(
        (b) => b.toString('utf8'),
        (e: Error) => {
          if (e instanceof ninep.RemoteError) return null;
          throw e;
        },
      );
    const [versionText, statsText, statusText] = [
      await read('/version'),
      await read('/stats'),
      await read('/status'),
    ];
    const version = keyLines(versionText ?? '');
    const stats = statsText === null ? undefined : fs.parseStats(statsText);
    let status: AgentStatus | undefined;
    if (statusText !== null) {
      try {
        status = fs.parseAgentStatus(statusText);
      } catch {
        status = undefined;
      }
    }
    const report: Report = { socket: shown, version, status, stats };
    if (!status) {
      // Say what it is, print what could be read, and fail: this is not the agent.
      const what =
        versionText === null
          ? 'a 9P server without /version, not the vmw9 tree'
          : `the vmw9 tree served without the agent (${version.get('agent') ?? 'unknown'}; e.g. vmw9 serve): it has no /status`;
      if (!o.json) printText(o, report);
      throw new CliError(`no agent at ${shown}: ${what}`, Exit.FAILED, jsonReport(report));
    }
    if (o.json) printJson(o, jsonReport(report));
    else printText(o, report);
    return Exit.OK;
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

interface Report {
  socket: string;
  version: Map<string, string>;
  status: AgentStatus | undefined;
  stats: Partial<Record<StatField, number>> | undefined;
}

function jsonReport(r: Report): Record<string, unknown> {
  const s = r.status;
  return {
    socket: r.socket,
    ...(s
      ? {
          agent: s.agent,
          pid: s.pid,
          address: s.address,
          transport: s.transport,
          started: s.started.toISOString(),
          uptime: s.uptime,
          resets: s.resets,
          tclo: s.tclo.map((t) => ({
            ...t,
            ...(t.last ? { last: { ...t.last, at: t.last.at.toISOString() } } : {}),
          })),
          services: s.services,
        }
      : {
          agent: null,
          ...(r.version.has('agent') ? { server: r.version.get('agent') } : {}),
          ...(r.version.has('transport') ? { transport: r.version.get('transport') } : {}),
        }),
    ...(r.version.has('host') ? { host: r.version.get('host') } : {}),
    ...(r.version.has('backdoor') ? { backdoor: r.version.get('backdoor') } : {}),
    ...(r.stats ? { stats: r.stats } : {}),
  };
}

function printText(o: Output, r: Report): void {
  const rows: [string, string][] = [];
  const s = r.status;
  const ago = (d: Date) => `${duration((Date.now() - d.getTime()) / 1000)} ago`;
  if (s) {
    rows.push([
      'agent',
      `${s.agent}, pid ${s.pid}, up ${duration(s.uptime)} (since ${s.started.toISOString()})`,
    ]);
  } else if (r.version.has('agent')) rows.push(['server', r.version.get('agent')!]);
  rows.push(['socket', r.socket]);
  const transport = s?.transport ?? r.version.get('transport');
  if (transport) rows.push(['transport', transport]);
  if (r.version.has('host')) rows.push(['host', r.version.get('host')!]);
  else if (r.version.get('backdoor') === 'unavailable') rows.push(['host', 'backdoor unavailable']);
  if (s) {
    for (const t of s.tclo) {
      const last = t.last
        ? `; last ${t.last.command} (${t.last.ok ? 'OK' : 'ERROR'}) ${ago(t.last.at)}`
        : '; no command yet';
      const failed = t.lastError ? `; last failure: ${t.lastError}` : '';
      rows.push([`tclo ${t.app}`, `${t.state}, ${t.commands} commands, ${t.errors} errors${last}${failed}`]);
    }
    rows.push(['resets', String(s.resets)]);
    rows.push(['services', s.services.map((v) => v.name).join(' ') || 'none']);
  }
  if (r.stats)
    rows.push([
      'stats',
      Object.entries(r.stats)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]);
  const w = Math.max(...rows.map(([k]) => k.length));
  o.out(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}
