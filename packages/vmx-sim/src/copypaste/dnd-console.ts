/**
 * The console's drag-and-drop and guest file transfer commands (docs/protocol/dndcp.md, "Host
 * side"): `drop`, `take`, `ft put`, `ft get`, `dnd`. They answer at once with what they started;
 * progress and the outcome follow as console notices (VmxHost.notices) while the guest works.
 */

import { MALFORMED_KINDS, type MalformedKind, OUTSIDE_HOWS, type OutsideHow } from '../guest-hgfs/hostile.js';
import { describeTransfer, type HgfsTransferOutcome } from '../guest-hgfs/transfer.js';
import type { TreeProgress } from '../guest-hgfs/tree.js';
import type { VmxHost } from '../host.js';
import type { DropFault, DropOutcome, TakeOutcome } from './dnd.js';

export const DND_HELP = `  drop [--at X,Y] [--fault F] PATH…   drag local files and folders into the guest and drop them
                           (F: outside:dotdot|outside:absolute|outside:symlink, oversize:BYTES, stop:BYTES,
                           malformed-hgfs[:short|size|name], malformed-dnd — a host misbehaving on purpose)
  take [--at X,Y] [--cancel] [DIR]    the pointer leaves the VM: take the files the guest drags out into DIR
                           (default a new directory under the temp directory)
  ft [@APP] put SRC… GUESTDIR         write files and folders into the guest through its HGFS server (TCLO f)
  ft [@APP] get GUESTPATH… DIR        read guest files and folders into DIR
  ft                       the guest apps serving HGFS
  dnd                      drag-and-drop state; dnd raw HEX sends one packet as given`;

/** Splits a console line into words, with '…' and "…" quoting (paths with spaces). */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

interface Flags {
  at?: [number, number];
  fault?: DropFault;
  cancel?: boolean;
  rest: string[];
}

function flags(args: string[]): Flags {
  const f: Flags = { rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--at') {
      const m = /^(-?\d+),(-?\d+)$/.exec(args[++i] ?? '');
      if (!m) throw new Error('--at X,Y (two integers)');
      f.at = [Number(m[1]), Number(m[2])];
    } else if (a === '--fault') f.fault = parseFault(args[++i] ?? '');
    else if (a === '--cancel') f.cancel = true;
    else f.rest.push(a);
  }
  return f;
}

/** `outside:dotdot`, `oversize:100`, `stop:65536`, `malformed-hgfs:short`, `malformed-dnd`. */
export function parseFault(spec: string): DropFault {
  const [kind, arg] = spec.split(':');
  const bytes = () => {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--fault ${kind}:BYTES (a whole number)`);
    return n;
  };
  switch (kind) {
    case 'outside':
      if (!OUTSIDE_HOWS.includes(arg as OutsideHow))
        throw new Error(`--fault outside:${OUTSIDE_HOWS.join('|')}`);
      return { kind: 'outside', how: arg as OutsideHow };
    case 'oversize':
      return { kind: 'oversize', extraBytes: bytes() };
    case 'stop':
      return { kind: 'stop', afterBytes: bytes() };
    case 'malformed-hgfs':
      if (arg !== undefined && !MALFORMED_KINDS.includes(arg as MalformedKind))
        throw new Error(`--fault malformed-hgfs[:${MALFORMED_KINDS.join('|')}]`);
      return { kind: 'malformed-hgfs', ...(arg ? { packet: arg as MalformedKind } : {}) };
    case 'malformed-dnd':
      return { kind: 'malformed-dnd' };
    default:
      throw new Error(
        `unknown fault ${JSON.stringify(spec)} (outside:HOW, oversize:N, stop:N, malformed-hgfs, malformed-dnd)`,
      );
  }
}

function progressLine(
  prefix: string,
  p: TreeProgress & { totalBytes?: number; totalFiles?: number },
): string {
  const files = p.totalFiles !== undefined ? `${p.files}/${p.totalFiles}` : `${p.files}`;
  const bytes = p.totalBytes !== undefined ? `${p.bytes}/${p.totalBytes}` : `${p.bytes}`;
  return `${prefix}: ${files} files, ${p.dirs} folders, ${bytes} bytes (${p.name})`;
}

/** Why no drag can start now, as the command's answer; undefined when one can. */
function notReady(host: VmxHost): string | undefined {
  if (!host.dnd.active) return 'error: no guest has negotiated drag-and-drop version 4';
  if (host.dnd.current) return `error: a drag is in progress (${host.dnd.current})`;
  return undefined;
}

export function dropCommand(host: VmxHost, args: string[]): string {
  const f = flags(args);
  if (!f.rest.length) return 'error: drop [--at X,Y] [--fault F] PATH…';
  const dnd = host.dnd;
  const refused = notReady(host);
  if (refused) return refused;
  const onProgress = (p: TreeProgress & { sessionId: number; totalBytes?: number; totalFiles?: number }) => {
    if (dnd.current === `drop ${p.sessionId}`) host.notice(progressLine(`drop ${p.sessionId}`, p));
  };
  const onStaged = (s: { sessionId: number; guestPath: string }) =>
    host.notice(`drop ${s.sessionId}: the guest staged it in ${s.guestPath}; writing the files`);
  dnd.on('progress', onProgress);
  dnd.on('staged', onStaged);
  const done = dnd.drop(f.rest, {
    ...(f.at ? { x: f.at[0], y: f.at[1] } : {}),
    ...(f.fault ? { fault: f.fault } : {}),
  });
  const started = dnd.current ?? 'drop';
  done
    .then((o) => host.notice(`${started}: ${describeDrop(o)}`))
    .catch((e: Error) => host.notice(`${started}: error: ${e.message}`))
    .finally(() => {
      dnd.off('progress', onProgress);
      dnd.off('staged', onStaged);
    });
  return `${started}: dragging ${f.rest.length} item${f.rest.length === 1 ? '' : 's'} into the guest${f.fault ? ` (fault ${f.fault.kind})` : ''}`;
}

export function describeDrop(o: DropOutcome): string {
  const t = o.transfer ? `: ${describeTransfer(o.transfer)}` : '';
  const outside = o.outside
    ? `; write outside the staging directory (${o.outside.how}, ${o.outside.path}): ${o.outside.escaped ? 'the guest let it through' : `refused (${o.outside.requests.map((r) => `${r.opName} ${r.statusName ?? r.error ?? 'no reply'}`).join(', ')})`}`
    : '';
  const gfd = o.getFilesDone !== undefined ? `; GET_FILES_DONE ${o.getFilesDone}` : '';
  switch (o.result) {
    case 'done':
      return `done${o.staging ? ` into ${o.staging.guestPath}` : ''}${t}${gfd}`;
    case 'cancelled':
      return 'cancelled after the guest began the drag';
    case 'stopped':
      return `stopped on purpose: ${o.reason ?? ''}${t}`;
    default:
      return `failed: ${o.reason ?? 'unknown'}${t}${outside}${gfd}`;
  }
}

export function takeCommand(host: VmxHost, args: string[]): string {
  const f = flags(args);
  if (f.rest.length > 1) return 'error: take [--at X,Y] [--cancel] [DIR]';
  const dnd = host.dnd;
  const refused = notReady(host);
  if (refused) return refused;
  const onProgress = (p: TreeProgress & { sessionId: number; totalBytes?: number }) => {
    if (dnd.current === `take ${p.sessionId}`) host.notice(progressLine(`take ${p.sessionId}`, p));
  };
  dnd.on('progress', onProgress);
  const done = dnd.take(f.rest[0], {
    ...(f.at ? { x: f.at[0], y: f.at[1] } : {}),
    ...(f.cancel ? { cancel: true } : {}),
  });
  const started = dnd.current ?? 'take';
  done
    .then((o) => host.notice(`${started}: ${describeTake(o)}`))
    .catch((e: Error) => host.notice(`${started}: error: ${e.message}`))
    .finally(() => dnd.off('progress', onProgress));
  return `${started}: asking the guest whether a drag is leaving it (QUERY_EXITING)`;
}

export function describeTake(o: TakeOutcome): string {
  switch (o.result) {
    case 'nothing-offered':
      return 'nothing offered (DRAG_NOT_PENDING)';
    case 'taken':
      return `took ${o.offered?.names.join(', ')} into ${o.dir}${o.transfer ? `: ${describeTransfer(o.transfer)}` : ''}`;
    case 'cancelled':
      return `cancelled (DEST_CANCEL) the guest's offer of ${o.offered?.names.join(', ') ?? 'nothing'}`;
    default:
      return `failed: ${o.reason ?? 'unknown'}${o.transfer ? `: ${describeTransfer(o.transfer)}` : ''}`;
  }
}

export function ftCommand(host: VmxHost, args: string[]): string {
  const app = args[0]?.startsWith('@') ? args.shift()!.slice(1) : undefined;
  const [sub, ...rest] = args;
  if (sub === undefined) {
    const serving = host.guestHgfs.servers();
    const known = [...host.guestHgfs.registered].map(([a, on]) => `${a} ${on ? 1 : 0}`).join(', ');
    return serving.length
      ? `guest HGFS servers: ${serving.join(', ')} (registered: ${known})`
      : `no guest app serves HGFS${known ? ` (registered: ${known}, but no open TCLO channel)` : ''}`;
  }
  if ((sub !== 'put' && sub !== 'get') || rest.length < 2)
    return 'error: ft [@APP] put SRC… GUESTDIR | ft [@APP] get GUESTPATH… DIR';
  const target = rest.pop()!;
  const label = `ft ${sub}`;
  const onProgress = (p: TreeProgress) => host.notice(progressLine(label, p));
  const o = { ...(app ? { app } : {}), onProgress };
  // Checked now so that a bad name or a missing server is this command's answer.
  const serving = host.guestHgfs.serverApp(app);
  const done: Promise<HgfsTransferOutcome> =
    sub === 'put' ? host.ftPut(rest, target, o) : host.ftGet(rest, target, o);
  done
    .then((r) => host.notice(`${label}: ${describeTransfer(r)}`))
    .catch((e: Error) => host.notice(`${label}: error: ${e.message}`));
  return `${label}: ${rest.length} item${rest.length === 1 ? '' : 's'} ${sub === 'put' ? 'into' : 'from'} the guest via ${serving}'s HGFS server`;
}

export function dndCommand(host: VmxHost, args: string[]): string {
  const dnd = host.dnd;
  if (args[0] === 'raw') {
    const hex = args.slice(1).join('');
    if (!hex || !/^([0-9a-fA-F]{2})+$/.test(hex)) return 'error: dnd raw HEX (an even number of hex digits)';
    const packet = Buffer.from(hex, 'hex');
    dnd.sendPacket(packet);
    return `sent a ${packet.length}-byte packet on dnd.transport`;
  }
  if (args.length) return 'error: dnd | dnd raw HEX';
  const n = dnd.negotiated;
  return [
    n
      ? `drag-and-drop version ${n.version} (guest caps 0x${n.guestCaps.toString(16)}, accepted 0x${n.caps.toString(16)})`
      : 'no guest has negotiated drag-and-drop version 4',
    `in progress: ${dnd.current ?? 'nothing'}`,
    Object.entries(dnd.stats)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
    `guest HGFS servers: ${host.guestHgfs.servers().join(', ') || 'none'}`,
  ].join('\n');
}
