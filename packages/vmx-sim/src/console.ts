/**
 * The simulator's console: one command per line, one answer per command, usable by hand and from
 * scripts (`vmw9 sim` reads it on standard input). Errors are answered as `error: …`; nothing a
 * line says can stop the host. Commands that take a while (`drop`, `take`, `ft`) answer with what
 * they started, and report progress and outcome later as notices (VmxHost.notices).
 */
import { formatRegisters } from '@vmw9/backdoor';
import { CLIP_HELP, clipCommand, formatLines, protocolsLine } from './copypaste/console.js';
import {
  DND_HELP,
  dndCommand,
  dropCommand,
  ftCommand,
  words as quotedWords,
  takeCommand,
} from './copypaste/dnd-console.js';
import { type HostFacts, parseFact } from './facts.js';
import { MESSAGE_STEPS, type MessageStep } from './faults.js';
import type { VmxHost } from './host.js';

export const CONSOLE_HELP = `commands:
  tclo [@APP] COMMAND…     queue a TCLO command, for the system service (toolbox) unless @APP says (e.g. tclo OS_Halt; tclo @toolbox-dnd Resolution_Set 1024 768)
  replies [N]              the guest's last N TCLO replies
  pending                  TCLO commands not yet delivered
${CLIP_HELP}
${DND_HELP}
  guestlib                 VMGuestLib: on/off, versions, session id, every statistic (id NAME value|(invalid))
  guestlib set NAME VALUE  set a statistic (NAME from guestlibV3.x, e.g. MEM_BALLOONED_MB); it becomes valid
  guestlib invalid NAME    send it marked invalid ("This value is not available on this host")
  guestlib session [ID]    a new session id (a vMotion): ID (decimal or 0x hex) or a random one
  guestlib on|off          the Guest API on (ESX) or off (Workstation: Unknown command)
  guestlib version 2|3     the newest layout served (2 plays a host older than V3)
  info                     list guestinfo
  info get KEY | info set KEY VALUE… | info rm KEY
  fact                     show the host facts
  fact NAME VALUE          set one (e.g. fact productType 4)
  fault cpt|reset|garbage STEP [rpci|tclo] [skip N]   arm a one-shot fault (steps: ${MESSAGE_STEPS.join(' ')})
  fault restrict on|off | fault silent on|off | fault clear
  mouse X Y [left] [right] [middle] [wheel N]         queue a vmmouse packet
  reset                    host reset: close every channel (tools reopen and get 'reset')
  share [ls]               the shared folders (HGFS)
  share add NAME DIR [ro]  share a directory (read-only with ro)
  share rm NAME            stop sharing it
  hgfs                     HGFS: packet size, sessions, open files, searches, requests per operation
  hgfs large on|off        hgfs.packetSize.large: large (512 KiB) or legacy (62 KiB) packets
  hgfs log [N]             the last N HGFS requests
  state                    channels, tools version, capabilities, state changes
  log [N]                  the last N backdoor calls
  counts                   calls per operation
  help`;

export function runConsoleCommand(host: VmxHost, line: string): string {
  const words = line.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '';
  const [cmd, ...args] = words;
  const rest = (n: number) => line.trim().split(/\s+/).slice(n).join(' ');
  try {
    switch (cmd) {
      case 'help':
      case '?':
        return CONSOLE_HELP;
      case 'tclo': {
        if (!args.length) return 'error: tclo needs a command';
        const app = args[0]!.startsWith('@') ? args[0]!.slice(1) : undefined;
        const text = app ? rest(2) : rest(1);
        if (!text) return 'error: tclo needs a command';
        host.tclo.queueCommand(text, app);
        return `queued: ${text}${app ? ` (for ${app})` : ''}`;
      }
      case 'replies': {
        const n = Number(args[0] ?? 20);
        return (
          host.tclo.replies
            .slice(-n)
            .map((r) => `${shown(r.command)} -> ${JSON.stringify(r.reply)}${r.app ? ` [${r.app}]` : ''}`)
            .join('\n') || '(no replies)'
        );
      }
      case 'pending':
        return host.tclo.pending().map(shown).join('\n') || '(none)';
      case 'clip':
        return clipCommand(host, args, line);
      case 'drop':
        return dropCommand(host, quotedWords(line).slice(1));
      case 'take':
        return takeCommand(host, quotedWords(line).slice(1));
      case 'ft':
        return ftCommand(host, quotedWords(line).slice(1));
      case 'dnd':
        return dndCommand(host, args);
      case 'info': {
        const sub = args[0];
        if (!sub) return [...host.rpci.guestinfo].map(([k, v]) => `${k}=${v}`).join('\n') || '(empty)';
        if (sub === 'get') return host.rpci.getGuestinfo(args[1] ?? '') ?? `error: no value for ${args[1]}`;
        if (sub === 'set') {
          if (!args[1]) return 'error: info set KEY VALUE';
          host.rpci.setGuestinfo(args[1], line.trim().replace(/^info\s+set\s+\S+\s?/, ''));
          return `${args[1]} set`;
        }
        if (sub === 'rm')
          return host.rpci.deleteGuestinfo(args[1] ?? '') ? `${args[1]} removed` : `error: no ${args[1]}`;
        return 'error: info [get KEY | set KEY VALUE | rm KEY]';
      }
      case 'guestlib':
        return guestlib(host, args, line);
      case 'fact': {
        if (!args.length)
          return Object.entries(host.facts)
            .map(([k, v]) => `${k} ${v}`)
            .join('\n');
        if (args.length < 2)
          return `${args[0]} ${host.facts[args[0] as keyof HostFacts] ?? '(unknown fact)'}`;
        const [k, v] = parseFact(args[0]!, args[1]!);
        (host.facts as unknown as Record<string, unknown>)[k] = v;
        return `${k} ${v}`;
      }
      case 'fault':
        return fault(host, args);
      case 'mouse': {
        const [x, y] = [Number(args[0]), Number(args[1])];
        if (!Number.isInteger(x) || !Number.isInteger(y))
          return 'error: mouse X Y [left] [right] [middle] [wheel N]';
        const w = args.indexOf('wheel');
        const ok = host.mouse.event({
          x,
          y,
          left: args.includes('left'),
          right: args.includes('right'),
          middle: args.includes('middle'),
          wheel: w >= 0 ? Number(args[w + 1] ?? 0) : 0,
        });
        return ok ? 'queued' : 'not queued (vmmouse disabled, or its queue is full)';
      }
      case 'reset':
        host.reset();
        return 'host reset: all channels closed';
      case 'share':
        return share(host, args, line);
      case 'hgfs':
        return hgfs(host, args);
      case 'state':
        return state(host);
      case 'log': {
        const n = Number(args[0] ?? 20);
        return (
          host.log
            .entries()
            .slice(-n)
            .map(
              (e) =>
                `${e.seq} ${e.t}ms pid=${e.pid} ${e.name}${e.channel !== undefined ? ` ch=${e.channel}` : ''} bytes=${e.bytes}${e.fault ? ` fault=${e.fault}` : ''} in[${formatRegisters(e.in)}] out[${formatRegisters(e.out)}]`,
            )
            .join('\n') || '(empty)'
        );
      }
      case 'counts':
        return `${Object.entries(host.log.counts())
          .map(([k, v]) => `${k} ${v}`)
          .join('\n')}\ntotal ${host.log.total()}`;
      default:
        return `error: unknown command "${cmd}" (try help)`;
    }
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** A TCLO command for display: a DnD/CP transport packet is binary, so only its word is shown. */
function shown(command: string): string {
  const m = /^(copypaste\.transport|dnd\.transport) /.exec(command);
  return m ? `${m[1]} (a binary packet)` : command;
}

function guestlib(host: VmxHost, args: string[], line: string): string {
  const gl = host.guestlib;
  const [sub, name] = args;
  if (sub === undefined) return gl.describe().join('\n');
  if (sub === 'set') {
    // The value is the rest of the line: RESOURCE_POOL_PATH may hold spaces.
    const m = /^\s*guestlib\s+set\s+\S+\s(.*)$/.exec(line);
    if (!name || !m) return 'error: guestlib set NAME VALUE';
    gl.set(name, m[1]!);
    return `${name} ${m[1]}`;
  }
  if (sub === 'invalid') {
    if (!name) return 'error: guestlib invalid NAME';
    gl.invalidate(name);
    return `${name} (invalid)`;
  }
  if (sub === 'session') {
    const id = name === undefined ? undefined : /^(0x[0-9a-f]+|\d+)$/i.test(name) ? BigInt(name) : Number.NaN;
    if (typeof id === 'number') return 'error: guestlib session [ID] (decimal or 0x hex)';
    return `session 0x${gl.newSession(id).toString(16)}`;
  }
  if (sub === 'on' || sub === 'off') {
    gl.enabled = sub === 'on';
    return `guest API ${sub}`;
  }
  if (sub === 'version') {
    if (name !== '2' && name !== '3') return 'error: guestlib version 2|3';
    gl.maxVersion = name === '2' ? 2 : 3;
    return `versions served: 2${gl.maxVersion >= 3 ? ' and 3' : ''}`;
  }
  return 'error: guestlib | set NAME VALUE | invalid NAME | session [ID] | on|off | version 2|3';
}

function fault(host: VmxHost, args: string[]): string {
  const [kind, a, b, c, d] = args;
  if (kind === 'clear') {
    host.faults.clear();
    return 'faults cleared';
  }
  if (kind === 'restrict' || kind === 'silent') {
    if (a !== 'on' && a !== 'off') return `error: fault ${kind} on|off`;
    host.faults[kind === 'restrict' ? 'restricted' : 'silent'] = a === 'on';
    return `${kind} ${a}`;
  }
  if (kind === 'cpt' || kind === 'reset' || kind === 'garbage') {
    const step = (a ?? '').toUpperCase() as MessageStep;
    const protocol = b === 'rpci' || b === 'tclo' ? (b.toUpperCase() as 'RPCI' | 'TCLO') : undefined;
    const skipWord = protocol ? c : b;
    const skip = skipWord === 'skip' ? Number(protocol ? d : c) : 0;
    host.arm({ kind, step, ...(protocol ? { protocol } : {}), skip });
    return `armed: ${kind} at ${step}${protocol ? ` on ${protocol}` : ''}${skip ? ` after ${skip}` : ''}`;
  }
  return 'error: fault cpt|reset|garbage STEP [rpci|tclo] [skip N] | restrict on|off | silent on|off | clear';
}

function share(host: VmxHost, args: string[], line: string): string {
  const [sub = 'ls', name] = args;
  const shares = host.hgfs.shares;
  if (sub === 'ls') {
    const list = shares.list();
    if (!list.length) return '(no shares)';
    return list.map((s) => `${s.name} ${s.root}${s.readOnly ? ' ro' : ''}`).join('\n');
  }
  if (sub === 'add') {
    // The directory is the rest of the line (it may hold spaces), less a final "ro" or "rw".
    const m = /^\s*share\s+add\s+\S+\s+(.+?)(?:\s+(ro|rw))?\s*$/.exec(line);
    if (!name || !m) return 'error: share add NAME DIR [ro]';
    const s = shares.add(name, m[1]!, { readOnly: m[2] === 'ro' });
    return `shared ${s.name} = ${s.root}${s.readOnly ? ' (read-only)' : ''}`;
  }
  if (sub === 'rm') {
    if (!name) return 'error: share rm NAME';
    return shares.remove(name) ? `${name} no longer shared` : `error: no share named ${name}`;
  }
  return 'error: share [ls] | share add NAME DIR [ro] | share rm NAME';
}

function hgfs(host: VmxHost, args: string[]): string {
  const [sub, a] = args;
  const server = host.hgfs;
  if (sub === 'large') {
    if (a !== 'on' && a !== 'off') return 'error: hgfs large on|off';
    host.setHgfsLargePackets(a === 'on');
    return `hgfs.packetSize.large ${a === 'on' ? 'TRUE' : 'FALSE'}: packets up to ${server.maxPacketSize} bytes`;
  }
  if (sub === 'log') {
    const n = Number(a ?? 20);
    return (
      server
        .log()
        .slice(-n)
        .map(
          (r) =>
            `${r.seq} ${r.t}ms ${r.op}${r.path !== undefined ? ` ${JSON.stringify(r.path)}` : ''} -> ${r.status} (${r.requestBytes}/${r.replyBytes} bytes)${r.detail ? `: ${r.detail}` : ''}`,
        )
        .join('\n') || '(empty)'
    );
  }
  if (sub !== undefined) return 'error: hgfs | hgfs large on|off | hgfs log [N]';
  const st = server.state();
  const counts = Object.entries(server.counts())
    .map(([k, v]) => `${k} ${v}`)
    .join(' ');
  const statuses = Object.entries(server.statuses())
    .map(([k, v]) => `${k} ${v}`)
    .join(' ');
  return [
    `packets up to ${server.maxPacketSize} bytes (hgfs.packetSize.large ${server.largePackets ? 'TRUE' : 'FALSE'})`,
    `shares ${server.shares.size}; sessions ${st.sessions}/${server.maxSessions}; open files ${st.openFiles} (${st.descriptors} descriptors); searches ${st.searches}`,
    `requests ${counts || '(none)'}`,
    `statuses ${statuses || '(none)'}`,
  ].join('\n');
}

function state(host: VmxHost): string {
  const lines = [`channels ${host.channels.size}/${host.channels.limit}`];
  for (const c of host.channels.all()) {
    const t = host.tclo.channels.get(c.id);
    lines.push(
      `  #${c.id} ${c.kind}${t?.app ? ` app=${t.app}` : ''} calls=${c.calls}${t ? ` polls=${t.polls}` : ''}`,
    );
  }
  const v = host.rpci.toolsVersion;
  lines.push(
    `tools version ${v ? `${v.version}${v.type !== undefined ? ` type ${v.type}` : ''}` : '(not reported)'}`,
  );
  lines.push(
    `capabilities ${[...host.rpci.capabilities].map(([k, val]) => (val ? `${k}=${val}` : k)).join(' ') || '(none)'}`,
  );
  lines.push(
    `state changes ${host.rpci.stateChanges.map((s) => `${s.state}:${s.success ? 'ok' : 'failed'}`).join(' ') || '(none)'}`,
  );
  lines.push(`clipboard ${formatLines(host.clipboard).join('; ')}`);
  lines.push(`  ${protocolsLine(host)}`);
  lines.push(
    `  legacy: guest sent ${host.guestClipboard ? JSON.stringify(host.guestClipboard.data.toString('utf8')) : 'nothing'}`,
  );
  const cp = host.copyPaste.stats;
  lines.push(
    `  copy/paste: ${Object.entries(cp)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}; drag-and-drop: ${host.dnd.negotiated ? `caps 0x${host.dnd.negotiated.caps.toString(16)}` : 'not negotiated'}`,
  );
  const h = host.hgfs.state();
  lines.push(
    `hgfs shares ${host.hgfs.shares.size}, sessions ${h.sessions}, open files ${h.openFiles}, searches ${h.searches}`,
  );
  lines.push(`resets ${host.resets}; faults fired ${JSON.stringify(host.faults.fired)}`);
  return lines.join('\n');
}
